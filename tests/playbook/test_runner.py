"""Walking a playbook: task types, branches, arguments to commands, failure rules, the step limit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from xsoar_local.incident.model import Incident
from xsoar_local.playbook import load_playbook
from xsoar_local.playbook.runner import CONTINUED, SUCCESS, TASK_ERROR, WARNING, TaskResult

from .helpers import FakeExecutor, branch, check, playbook, printed, run, simple, statuses, task

TRANSLATE = "YodaSpeak|||yoda-speak-translate"


def translator() -> FakeExecutor:
    """A fake YodaSpeak that answers like the integration: a note and YodaSpeak.TheForce in the context."""
    return FakeExecutor(
        {
            "yoda-speak-translate": (
                [{"Type": 1, "Contents": "translated"}],
                {"YodaSpeak.TheForce(val.Original == obj.Original)": {"Original": "Hi", "Translation": "Hi, I say"}},
            )
        }
    )


def test_start_regular_title_in_order() -> None:
    """Given start -> command -> Print -> title, When run, Then each runs once, in order, and the run completes."""
    executor = translator()
    book = playbook(
        task("1", script=TRANSLATE, args={"text": simple("${incident.details}")}, then=["2"]),
        task("2", script="Print", args={"value": simple("${YodaSpeak.TheForce.Translation}")}, then=["3"]),
        task("3", "title", name="Done"),
    )
    result = run(book, executor, Incident().with_fields({"details": "Hi"}))
    assert result.completed, f"the run should complete, got {result.error}"
    assert statuses(result) == [("0", SUCCESS), ("1", SUCCESS), ("2", SUCCESS), ("3", SUCCESS)]
    assert [call.args for call in executor.calls] == [{"text": "Hi"}], "the command gets ${incident.details}"
    assert printed(result) == ["translated", "Hi, I say"], "the War Room holds the command's entry, then Print's"
    assert result.incident.context["YodaSpeak"]["TheForce"]["Translation"] == "Hi, I say", "context is merged"


@pytest.mark.parametrize(
    ("script", "brand", "command"),
    [
        pytest.param("YodaSpeak|||yoda-speak-translate", "YodaSpeak", "yoda-speak-translate", id="with-brand"),
        pytest.param("|||yoda-speak-translate", "", "yoda-speak-translate", id="empty-brand-any-instance"),
    ],
)
def test_command_calls_name_brand_and_command(script: str, brand: str, command: str) -> None:
    """Given `Brand|||command`, When the task runs, Then the executor is asked for that brand (or any) and command."""
    executor = translator()
    run(playbook(task("1", script=script, args={"text": simple("x")})), executor)
    assert [(call.brand, call.command) for call in executor.calls] == [(brand, command)]


def test_empty_arguments_are_left_out_so_defaults_apply() -> None:
    """Given arguments that are not set or resolve to nothing, When the command runs, Then they are not passed."""
    executor = translator()
    args = {"text": simple("x"), "unset": {}, "empty": simple(""), "missing": simple("${Nope}")}
    result = run(playbook(task("1", script=TRANSLATE, args=args)), executor)
    assert [call.args for call in executor.calls] == [{"text": "x"}], "empty arguments must be left out"
    assert result.tasks[-1].status == WARNING, "a reference to nothing is flagged"
    assert result.tasks[-1].empty_references == ("Nope",), "the work plan names the empty reference"


def test_scriptname_form_runs_the_builtin() -> None:
    """Given `scriptName: Print` (iscommand false), When run, Then the built-in Print runs."""
    raw = task("1", args={"value": simple("hello")})
    raw["task"] = {"name": "p", "scriptName": "Print", "iscommand": False}
    result = run(playbook(raw))
    assert printed(result) == ["hello"], f"Print should have run, War Room: {printed(result)}"


def test_print_of_a_missing_path_fails_the_task() -> None:
    """Given Print of a path nothing wrote (the classic bug), When run, Then the task fails, as on a server where
    Print's `value` is mandatory, with an error naming the task, the argument, the expression and the nearby paths."""
    book = playbook(
        task("1", script=TRANSLATE, args={"text": simple("Hi")}, then=["2"]),
        task(
            "2",
            name="Print the translation",
            script="Print",
            args={"value": simple("${YodaSpeak.Phrase.Translation}")},
            then=["3"],
        ),
        task("3", "title", name="Done"),
    )
    result = run(book, translator())
    assert not result.completed, "an empty mandatory Print value must stop the run"
    expected = (
        "task 2 'Print the translation' failed: Print's mandatory argument 'value' is empty: "
        "${YodaSpeak.Phrase.Translation} resolved to nothing "
        "(the context has YodaSpeak.TheForce.Original, YodaSpeak.TheForce.Translation)"
    )
    assert result.error == expected, f"the error should explain the empty value, got {result.error!r}"
    assert statuses(result) == [("0", SUCCESS), ("1", SUCCESS), ("2", TASK_ERROR)], "the run stops at Print"
    assert result.tasks[-1].empty_references == ("YodaSpeak.Phrase.Translation",), "the failed task names the path"
    assert printed(result) == ["translated"], "a refused Print writes nothing to the War Room"


def test_empty_mandatory_argument_with_continueonerror_goes_on() -> None:
    """Given an empty Print value on a task with continueonerror, When run, Then the task is marked failed,
    the run goes on to the next task and completes."""
    book = playbook(
        task("1", script="Print", args={"value": simple("${Nope}")}, then=["2"], continueonerror=True),
        task("2", "title", name="Done"),
    )
    result = run(book)
    assert result.completed, f"continueonerror should let the run complete, got {result.error}"
    assert statuses(result) == [("0", SUCCESS), ("1", CONTINUED), ("2", SUCCESS)], statuses(result)
    assert "mandatory argument 'value' is empty: ${Nope} resolved to nothing" in result.tasks[1].message, (
        f"the continued task should still say why it failed: {result.tasks[1].message!r}"
    )


@pytest.mark.parametrize(
    ("script", "args", "expected"),
    [
        pytest.param(
            "Print", {}, "Print's mandatory argument 'value' is empty: the task does not set 'value'", id="not-set"
        ),
        pytest.param(
            "Print",
            {"value": simple("")},
            "Print's mandatory argument 'value' is empty: it is given as the empty value ''",
            id="empty-literal",
        ),
        pytest.param(
            "Print",
            {
                "value": {
                    "complex": {
                        "root": "List",
                        "transformers": [{"operator": "atIndex", "args": {"index": {"value": {"simple": "5"}}}}],
                    }
                }
            },
            "the complex value on 'List' came out empty after its filters and transformers",
            id="complex-transformed-to-nothing",
        ),
        pytest.param(
            "Print",
            {"value": simple("${A}${B}")},
            "${A} and ${B} resolved to nothing",
            id="two-references",
        ),
        pytest.param(
            "Set",
            {"key": simple("${Target.Key}"), "value": simple("v")},
            "Set's mandatory argument 'key' is empty: ${Target.Key} resolved to nothing (the context has Target.Other)",
            id="set-key",
        ),
        pytest.param(
            "DeleteContext",
            {"key": simple("${Keys}")},
            "DeleteContext needs one of the arguments 'all', 'key', and all are empty: all: the task does not set "
            "'all'; key: ${Keys} resolved to nothing",
            id="delete-context-one-of",
        ),
    ],
)
def test_empty_mandatory_argument_error_says_where_it_came_from(
    script: str, args: dict[str, Any], expected: str
) -> None:
    """Given a built-in script whose mandatory argument comes out empty, When run, Then the run stops and the
    error says how that argument was given."""
    context = {"List": [1, 2], "Target": {"Other": "x"}}
    result = run(playbook(task("1", script=script, args=args)), incident=Incident(context=context))
    assert not result.completed, "an empty mandatory argument must stop the run"
    assert expected in (result.error or ""), f"expected {expected!r} in the error, got {result.error!r}"


def test_empty_non_mandatory_argument_of_a_script_is_a_warning() -> None:
    """Given Set with its mandatory key and value but an optional `append` referring to nothing, When run,
    Then Set runs and the task is flagged as a warning naming the reference, not failed."""
    book = playbook(
        task("1", script="Set", args={"key": simple("K"), "value": simple("v"), "append": simple("${Nope}")})
    )
    result = run(book)
    assert result.completed, f"an empty optional argument must not stop the run: {result.error}"
    assert result.tasks[-1].status == WARNING, f"the empty optional argument should be flagged: {result.tasks[-1]}"
    assert result.tasks[-1].empty_references == ("Nope",), "the warning names the empty reference"
    assert result.incident.context["K"] == "v", "Set should still have run"


@pytest.mark.parametrize(
    ("context", "taken"),
    [
        pytest.param({"Answer": "yes"}, ["0", "1", "2"], id="label-branch"),
        pytest.param({"Answer": "no"}, ["0", "1", "3"], id="default-branch"),
    ],
)
def test_condition_follows_its_label_or_default(context: dict[str, Any], taken: list[str]) -> None:
    """Given a condition with a `yes` label and `#default#`, When run, Then the matching branch is followed."""
    book = playbook(
        task(
            "1",
            "condition",
            conditions=[branch("yes", [check("isEqualString", "Answer", "yes")])],
            then={"yes": ["2"], "#default#": ["3"]},
        ),
        task("2", "title"),
        task("3", "title"),
    )
    result = run(book, incident=Incident(context=context))
    assert [item.task_id for item in result.tasks] == taken, f"took {[item.task_id for item in result.tasks]}"
    assert result.completed, result.error


def test_condition_labels_compare_case_insensitively() -> None:
    """Given a label `Yes` and a nexttasks key `yes`, When the branch holds, Then it is followed."""
    book = playbook(
        task("1", "condition", conditions=[branch("Yes", [check("isNotEmpty", "A")])], then={"yes": ["2"]}),
        task("2", "title"),
    )
    result = run(book, incident=Incident(context={"A": "x"}))
    assert [item.task_id for item in result.tasks] == ["0", "1", "2"], "the `yes` branch should be followed"


def test_condition_without_match_or_default_fails() -> None:
    """Given a condition without `#default#`, When no label matches, Then the run fails: no branch matched."""
    book = playbook(
        task(
            "1",
            "condition",
            name="Verify",
            conditions=[branch("yes", [check("isNotEmpty", "Missing")])],
            then={"yes": ["2"]},
        ),
        task("2", "title"),
    )
    result = run(book)
    assert not result.completed, "a dead end must fail the run"
    assert "task 1 'Verify' failed: no branch matched" in str(result.error), result.error
    assert statuses(result)[-1] == ("1", TASK_ERROR), "the condition is marked as the failing task"


def test_parallel_branches_and_join_run_once() -> None:
    """Given two branches that join, When run, Then each task runs once and the join runs after both."""
    book = playbook(
        task("1", "title", then=["2", "3"]),
        task("2", script="Print", args={"value": simple("left")}, then=["4"]),
        task("3", script="Print", args={"value": simple("right")}, then=["4"]),
        task("4", script="Print", args={"value": simple("joined")}),
    )
    result = run(book)
    assert printed(result) == ["left", "right", "joined"], f"War Room: {printed(result)}"


def test_failing_command_stops_the_run() -> None:
    """Given a command that returns an error entry, When run, Then the run stops there with that error."""
    executor = FakeExecutor({"boom": ([{"Type": 4, "Contents": "API down"}], {})})
    book = playbook(task("1", name="Call", script="X|||boom", then=["2"]), task("2", "title"))
    result = run(book, executor)
    assert not result.completed, "an error entry fails the task"
    assert result.error == "task 1 'Call' failed: API down", result.error
    assert [item.task_id for item in result.tasks] == ["0", "1"], "nothing after the failed task runs"
    assert printed(result) == ["API down"], "the error entry still reaches the War Room"


def test_executor_error_stops_the_run() -> None:
    """Given a command the executor cannot run (e.g. unknown brand), When run, Then the run fails with that reason."""
    result = run(playbook(task("1", script="Nope|||unknown")))
    assert "no answer for 'unknown'" in str(result.error), result.error


@pytest.mark.parametrize(
    ("extra", "taken"),
    [
        pytest.param({"continueonerror": True}, ["0", "1", "2"], id="continue-to-none"),
        pytest.param({"continueonerror": True, "continueonerrortype": "errorPath"}, ["0", "1", "3"], id="error-path"),
    ],
)
def test_continue_on_error(extra: dict[str, Any], taken: list[str]) -> None:
    """Given a failing task with continueonerror, When run, Then it is marked and the run goes on (#error# path)."""
    executor = FakeExecutor({"boom": ([{"Type": 4, "Contents": "API down"}], {})})
    book = playbook(
        task("1", script="X|||boom", then={"#none#": ["2"], "#error#": ["3"]}, **extra),
        task("2", "title"),
        task("3", "title"),
    )
    result = run(book, executor)
    assert result.completed, f"continueonerror should let the run complete, got {result.error}"
    assert [item.task_id for item in result.tasks] == taken, f"took {[item.task_id for item in result.tasks]}"
    assert result.tasks[1].status == CONTINUED, f"the failed task is marked: {result.tasks[1]}"
    assert "API down" in result.tasks[1].message, f"the failure is shown: {result.tasks[1]}"


def test_continue_on_error_keeps_the_error_entry() -> None:
    """Given PrintErrorEntry with continueonerror, When run, Then its error entry is kept and the run goes on."""
    book = playbook(
        task("1", script="PrintErrorEntry", args={"message": simple("bad")}, then=["2"], continueonerror=True),
        task("2", "title"),
    )
    result = run(book)
    assert result.completed, result.error
    assert printed(result) == ["bad"], f"the error entry should reach the War Room: {printed(result)}"


def test_continue_on_error_covers_builtin_failures() -> None:
    """Given a built-in script that fails with continueonerror, When run, Then the run goes on."""
    book = playbook(
        task("1", script="Set", args={"value": simple("v")}, then=["2"], continueonerror=True), task("2", "title")
    )
    result = run(book)
    assert result.completed, result.error
    assert statuses(result)[1] == ("1", CONTINUED), statuses(result)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        pytest.param(
            task("1", "collection", name="Form"),
            "task 1 'Form' failed: task type 'collection' is not supported",
            id="unknown-task-type",
        ),
        pytest.param(
            task("1", "playbook", name="Sub", **{"task": {"name": "Sub", "playbookName": "Nowhere"}}),
            "task 1 'Sub' failed: sub-playbook 'Nowhere' is not in the content",
            id="unknown-sub-playbook",
        ),
        pytest.param(
            task("1", name="Odd", script="FancyScript"),
            "task 1 'Odd' failed: unknown script 'FancyScript'",
            id="unknown-script",
        ),
        pytest.param(
            task("1", name="Manual"), "task 1 'Manual' failed: a regular task without a script", id="manual-task"
        ),
        pytest.param(
            task("1", "condition", name="Ask"),
            "task 1 'Ask' failed: condition tasks decided by a person",
            id="manual-condition",
        ),
        pytest.param(
            task("1", "condition", name="Op", conditions=[branch("yes", [check("isPrime", "A")])]),
            "task 1 'Op' failed: unknown condition operator 'isPrime'",
            id="unknown-operator",
        ),
        pytest.param(
            task(
                "1",
                name="T",
                script="Print",
                args={"value": {"complex": {"root": "A", "transformers": [{"operator": "reverse"}]}}},
            ),
            "task 1 'T' failed: argument: unknown transformer 'reverse'",
            id="unknown-transformer",
        ),
        pytest.param(
            task("1", name="E", script="PrintErrorEntry", args={"message": simple("checks failed")}),
            "task 1 'E' failed: checks failed",
            id="print-error-entry",
        ),
    ],
)
def test_unknown_things_fail_naming_the_task(raw: dict[str, Any], message: str) -> None:
    """Given a task the runner cannot run, When run, Then the run fails naming the task (never a silent skip)."""
    result = run(playbook(raw))
    assert not result.completed, "the run must not complete"
    assert str(result.error).startswith(message), f"error was {result.error!r}"


def test_step_limit_stops_a_cycle() -> None:
    """Given a loop with no exit, When run, Then the step limit stops it and the run fails."""
    book = playbook(task("1", "title", then=["2"]), task("2", "title", then=["1"]))
    result = run(book, max_steps=10)
    assert not result.completed, "a cycle must not complete"
    assert "step limit of 10 tasks reached" in str(result.error), result.error
    assert len(result.tasks) == 10, f"exactly 10 tasks should have run, got {len(result.tasks)}"


def test_set_then_condition_on_the_new_value() -> None:
    """Given Set then a condition on what it set, When run, Then the condition sees the new context."""
    book = playbook(
        task("1", script="Set", args={"key": "Score", "value": simple("7")}, then=["2"]),
        task(
            "2",
            "condition",
            conditions=[branch("high", [check("greaterThan", "Score", "5")])],
            then={"high": ["3"], "#default#": ["4"]},
        ),
        task("3", "title", name="High"),
        task("4", "title", name="Low"),
    )
    result = run(book)
    assert [item.name for item in result.tasks][-1] == "High", f"took {[item.name for item in result.tasks]}"


@pytest.mark.parametrize(
    "script",
    [
        pytest.param("closeInvestigation", id="script-name"),
        pytest.param("Builtin|||closeInvestigation", id="server-builtin-command"),
    ],
)
def test_close_investigation_closes_the_incident(script: str) -> None:
    """Given a closeInvestigation task, as a script name or as the server writes it (`Builtin|||closeInvestigation`),
    When run, Then it runs locally (no integration is asked) and the final incident is closed."""
    executor = FakeExecutor()
    result = run(playbook(task("1", script=script, args={"closeReason": simple("Resolved")})), executor)
    assert result.completed, f"the run should complete, got {result.error}"
    assert executor.calls == [], f"a built-in must not go to an integration: {executor.calls}"
    assert result.incident.fields["status"] == "Closed", f"fields: {result.incident.fields}"


def test_a_close_task_listing_the_close_forms_fields_closes_and_sets_the_filled_ones() -> None:
    """Given a `Builtin|||closeInvestigation` task as a playbook editor exports it: besides closeReason and
    closeNotes it lists incident fields, most of them empty (`{}`), one filled from context
    When run
    Then the incident is closed with its reason, the filled field is set, and the empty ones change nothing"""
    args = {
        "closeReason": simple("Resolved"),
        "closeNotes": simple("checked"),
        "hiredate": {},
        "phishingsubtype": {},
        "assetid": {"simple": "${Asset.ID}"},
    }
    fields = {"id": "7", "hiredate": "2020-01-01"}
    result = run(
        playbook(task("1", script="Builtin|||closeInvestigation", args=args)),
        incident=Incident(fields=fields, context={"Asset": {"ID": "A-9"}}),
    )
    assert result.completed, f"a close task listing empty incident fields should complete, got {result.error}"
    closed = result.incident.fields
    assert (closed["status"], closed["closeReason"], closed["closeNotes"]) == ("Closed", "Resolved", "checked"), closed
    assert closed["assetid"] == "A-9", f"the filled field should be set as the incident closes: {closed}"
    assert closed["hiredate"] == "2020-01-01", f"an empty field must leave the incident's value alone: {closed}"
    assert "phishingsubtype" not in closed, f"an empty field must not be written: {closed}"


def test_links_to_tasks_the_playbook_lacks_lead_nowhere_and_are_reported_on_their_task() -> None:
    """Given a playbook whose task 1 leads to task 2 and to tasks 22 and 23 it does not have (an editor leaves such
    links when tasks are deleted; a server runs the playbook)
    When run
    Then it completes, tasks 1 and 2 run, and task 1 ends with a warning naming the missing tasks"""
    result = run(playbook(task("1", "title", then=["2", "22", "23"]), task("2", "title")))
    assert result.completed, f"links to missing tasks must not stop the run: {result.error}"
    assert statuses(result) == [("0", SUCCESS), ("1", WARNING), ("2", SUCCESS)], statuses(result)
    assert "['22', '23']" in result.tasks[1].message, result.tasks[1].message


def test_an_unknown_builtin_command_fails_naming_the_task() -> None:
    """Given `Builtin|||` with a command the runner does not know, When run, Then the task fails naming it."""
    result = run(playbook(task("1", name="Shout", script="Builtin|||shoutLoudly")))
    assert not result.completed, "an unknown built-in command must fail the run"
    assert "Shout" in str(result.error), f"the error should name the task: {result.error}"
    assert "shoutLoudly" in str(result.error), f"the error should name the command: {result.error}"


def test_work_plan_is_reported_as_it_runs() -> None:
    """Given an on_task callback, When run, Then it sees every task as it finishes, timed by the injected clock."""
    seen: list[TaskResult] = []
    ticks = iter(range(100))
    book = playbook(task("1", "title", then=["2"]), task("2", "title"))
    result = run(book, on_task=seen.append, clock=lambda: float(next(ticks)))
    assert [item.task_id for item in seen] == ["0", "1", "2"], "every task is reported"
    assert seen == list(result.tasks), "the reports are the work plan"
    assert all(item.seconds == 1.0 for item in seen), f"each task took one tick: {[item.seconds for item in seen]}"


@pytest.mark.parametrize(
    ("executor", "last_printed"),
    [
        pytest.param(translator(), "Hi, I say", id="translation-came-back"),
        pytest.param(FakeExecutor({"yoda-speak-translate": ([], {})}), "No translation", id="nothing-came-back"),
    ],
)
def test_exported_playbook_file(executor: FakeExecutor, last_printed: str) -> None:
    """Given a playbook file in the server's export format, When run, Then it branches on what the command wrote."""
    book = load_playbook(Path(__file__).parent / "data" / "branching.yml")
    result = run(book, executor, Incident(context={"Old": 1}).with_fields({"details": "Hi"}))
    assert result.completed, result.error
    assert printed(result)[-1] == last_printed, f"War Room: {printed(result)}"
    assert "Old" not in result.incident.context, "DeleteContext all=yes should have cleared the old context"
