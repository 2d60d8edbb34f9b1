"""Sub-playbooks, loops, polling, script-decided conditions, inputs and `${lastCompletedTaskEntries}` in the runner,
with a scripted executor standing in for the engine (so any executor the engine uses works the same way)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from xsoar_local.incident.model import Incident
from xsoar_local.playbook import CommandCall, CommandOutcome, Playbook, PlaybookRun, PlaybookRunner
from xsoar_local.playbook.model import parse_playbook

from .helpers import branch, check, simple, task

Answer = Callable[[CommandCall, Incident], tuple[list[dict[str, Any]], dict[str, Any]]]


@dataclass
class ScriptedExecutor:
    """Answers each command with a function of the call and the incident; records every call."""

    answers: Mapping[str, Answer]
    calls: list[CommandCall] = field(default_factory=list)

    def __call__(self, call: CommandCall, incident: Incident) -> CommandOutcome:
        self.calls.append(call)
        if call.command not in self.answers:
            return CommandOutcome((), incident, f"unknown script {call.command!r}")
        entries, entry_context = self.answers[call.command](call, incident)
        return CommandOutcome(
            tuple(entries),
            incident.with_entry_context(entry_context),
            merge=lambda latest: latest.with_entry_context(entry_context),
        )


@dataclass
class Library:
    """A `PlaybookContent` of in-memory playbooks and installed script names."""

    playbooks: dict[str, Playbook] = field(default_factory=dict)
    installed: set[str] = field(default_factory=set)
    arguments: dict[str, dict[str, bool]] = field(default_factory=dict)  # command -> {argument: isArray}

    def playbook(self, reference: str) -> Playbook | None:
        return self.playbooks.get(reference)

    def available(self, script: str, brand: str) -> bool:
        del brand
        return script in self.installed

    def array_arguments(self, command: str, brand: str) -> Mapping[str, bool] | None:
        del brand
        return self.arguments.get(command)


def note(text: Any) -> dict[str, Any]:
    """A note entry as a script's `demisto.results(text)` makes it."""
    return {"Type": 1, "ContentsFormat": "text", "Contents": text}


def book(*tasks: dict[str, Any], playbook_id: str = "test", **extra: Any) -> Playbook:
    """A playbook whose start task `0` leads to the first task."""
    by_id = {raw["id"]: raw for raw in tasks}
    by_id["0"] = task("0", "start", then=[tasks[0]["id"]])
    return parse_playbook({"id": playbook_id, "name": playbook_id, "starttaskid": "0", "tasks": by_id, **extra})


def run(
    playbook: Playbook,
    executor: ScriptedExecutor,
    library: Library | None = None,
    incident: Incident | None = None,
    **options: Any,
) -> PlaybookRun:
    runner = PlaybookRunner(executor, content=library or Library(), **options)
    result: PlaybookRun = runner.run(playbook, incident or Incident())
    return result


def returns(value: Any) -> Answer:
    return lambda _call, _incident: ([note(value)], {})


@pytest.mark.parametrize(
    ("returned", "expected"),
    [
        pytest.param("yes", "yes", id="exact"),
        pytest.param("YES", "yes", id="other-case"),
        pytest.param(True, "true", id="boolean-true"),
        pytest.param("perhaps", "#default#", id="no-branch-takes-else"),
    ],
)
def test_script_condition_branches_on_the_returned_value(returned: Any, expected: str) -> None:
    """Given a condition task decided by a script, When the script returns a value, Then the branch of that label
    (any case) is taken, and a value that is no branch takes #default#."""
    condition = task(
        "1",
        "condition",
        script="Decide",
        args={"input": simple("x")},
        then={"yes": ["2"], "true": ["2"], "#default#": ["3"]},
    )
    result = run(
        book(condition, task("2", "title"), task("3", "title")), ScriptedExecutor({"Decide": returns(returned)})
    )
    assert result.completed, result.error
    assert result.tasks[1].branch == expected, result.tasks[1]


def test_script_condition_runs_through_the_executor_with_its_arguments() -> None:
    """Given a script-decided condition with arguments, When run, Then the executor runs the script (kind script)
    with the resolved arguments, and its entries reach the War Room."""
    executor = ScriptedExecutor({"Decide": returns("yes")})
    condition = task("1", "condition", script="Decide", args={"value": simple("${A}")}, then={"yes": ["2"]})
    result = run(book(condition, task("2", "title")), executor, incident=Incident(context={"A": [1, 2]}))
    assert result.completed, result.error
    assert [(call.command, call.kind, dict(call.args)) for call in executor.calls] == [
        ("Decide", "script", {"value": [1, 2]})
    ], executor.calls
    assert [item.entry["Contents"] for item in result.entries] == ["yes"], result.entries


def test_inputs_defaults_and_overrides() -> None:
    """Given a playbook with inputs (a literal default, a default from the context, one without a default), When run
    with one input given, Then `${inputs.X}` sees the given value, the resolved defaults and nothing."""
    executor = ScriptedExecutor({"Echo": lambda call, _incident: ([note(dict(call.args))], {})})
    playbook = book(
        task(
            "1",
            script="Echo",
            args={"a": simple("${inputs.a}"), "b": simple("${inputs.b}"), "c": simple("x${inputs.c}")},
        ),
        inputs=[
            {"key": "a", "value": {"simple": "default"}},
            {"key": "b", "value": {"complex": {"root": "Seed", "accessor": "name"}}},
            {"key": "c", "value": {}},
        ],
    )
    runner = PlaybookRunner(executor)
    result = runner.run(playbook, Incident(context={"Seed": {"name": "from context"}}), inputs={"a": "given"})
    assert result.completed, result.error
    assert executor.calls[0].args == {"a": "given", "b": "from context", "c": "x"}, executor.calls[0].args


def test_last_completed_task_entries_names_the_previous_tasks_entries() -> None:
    """Given a task writing two entries and a task reading ${lastCompletedTaskEntries}, When run, Then it gets the
    ids of those two entries (the entries' own ids when they carry one)."""
    executor = ScriptedExecutor(
        {
            "Two": lambda _call, _incident: ([note("a"), {**note("b"), "ID": "42@7"}], {}),
            "Echo": lambda call, _incident: ([note(call.args.get("ids"))], {}),
        }
    )
    playbook = book(
        task("1", script="Two", then=["2"]),
        task("2", script="Echo", args={"ids": simple("${lastCompletedTaskEntries}")}),
    )
    result = run(playbook, executor)
    assert result.completed, result.error
    ids = executor.calls[1].args["ids"]
    assert len(ids) == 2, ids
    assert ids[1] == "42@7", "an entry's own id is kept"
    assert [item.entry_id for item in result.entries[:2]] == ids, result.entries


def test_last_completed_task_entries_follow_each_branch() -> None:
    """Given two parallel branches, each a script writing one entry and then a check reading
    ${lastCompletedTaskEntries}, and a title between the second script and its check
    When run (the runner finishes both scripts before either check)
    Then each check gets the entry of the script on its own branch, the title passing it on"""
    executor = ScriptedExecutor(
        {
            "Say": lambda call, _incident: ([note(call.args["word"])], {}),
            "Echo": lambda call, _incident: ([note(call.args.get("ids"))], {}),
        }
    )
    tasks = (
        task("0", "start", then=["1", "2"]),
        task("1", script="Say", args={"word": simple("alpha")}, then=["3"]),
        task("2", script="Say", args={"word": simple("beta")}, then=["5"]),
        task("3", script="Echo", args={"ids": simple("${lastCompletedTaskEntries}")}),
        task("5", "title", then=["4"]),
        task("4", script="Echo", args={"ids": simple("${lastCompletedTaskEntries}")}),
    )
    playbook = parse_playbook({"id": "t", "starttaskid": "0", "tasks": {raw["id"]: raw for raw in tasks}})
    result = run(playbook, executor)
    assert result.completed, result.error
    written = {entry.task_id: entry.entry_id for entry in result.entries if entry.task_id in ("1", "2")}
    echoed = [call.args["ids"] for call in executor.calls if "ids" in call.args]
    assert echoed == [[written["1"]], [written["2"]]], f"the checks saw {echoed}; the scripts wrote {written}"


CHILD = parse_playbook(
    {
        "id": "child",
        "name": "Child",
        "starttaskid": "0",
        "tasks": {
            "0": task("0", "start", then=["1"]),
            "1": task("1", script="Emit", args={"word": simple("${inputs.word}")}),
        },
        "inputs": [{"key": "word", "value": {"simple": "default"}}],
        "outputs": [{"contextPath": "Out.Word"}],
    }
)


def emit(call: CommandCall, _incident: Incident) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    word = call.args.get("word")
    return [note(word)], {"Out.Word": word, "Private.Seen": word}


@pytest.mark.parametrize(
    ("separate", "expected"),
    [
        pytest.param(True, {"Out": {"Word": "hi"}}, id="private-context-hands-back-outputs-only"),
        pytest.param(False, {"Out": {"Word": "hi"}, "Private": {"Seen": "hi"}}, id="shared-context-keeps-all"),
    ],
)
def test_sub_playbook_context(separate: bool, expected: dict[str, Any]) -> None:
    """Given a sub-playbook task with `word` as input, When run with a private or a shared context, Then the private
    run hands back only its `outputs:` paths, and the shared one writes straight into the parent's context."""
    executor = ScriptedExecutor({"Emit": emit})
    parent = book(
        task(
            "1",
            "playbook",
            separatecontext=separate,
            args={"word": simple("hi")},
            **{"task": {"name": "Sub", "playbookName": "Child"}},
        )
    )
    result = run(parent, executor, Library({"Child": CHILD}))
    assert result.completed, result.error
    assert result.incident.context == expected, result.incident.context
    assert [line.task_id for line in result.tasks] == ["0", "1.0", "1.1", "1"], result.tasks
    assert executor.calls[0].task_id == "1", "a sub-playbook's commands report their top-level task"


def test_sub_playbook_input_default_applies_when_not_given() -> None:
    """Given a sub-playbook task that does not set an input, When run, Then the sub-playbook's default applies."""
    executor = ScriptedExecutor({"Emit": emit})
    parent = book(task("1", "playbook", **{"task": {"name": "Sub", "playbookName": "Child"}}))
    result = run(parent, executor, Library({"Child": CHILD}))
    assert result.completed, result.error
    assert executor.calls[0].args == {"word": "default"}, executor.calls


def test_a_playbook_running_itself_stops_at_the_depth_limit() -> None:
    """Given a playbook whose sub-playbook is itself, When run, Then it fails at the nesting limit, not forever."""
    looping = book(task("1", "playbook", **{"task": {"name": "Me", "playbookName": "test"}}))
    result = run(looping, ScriptedExecutor({}), Library({"test": looping}))
    assert not result.completed
    assert "nested deeper than 10 levels" in str(result.error), result.error


def test_for_each_zips_lists_by_index() -> None:
    """Given a for-each loop over x=[1,2,3], y=[a,b,c] and z=9, When run, Then the task runs three times with the
    lists zipped and the single value only in the first iteration (as the server's documentation shows)."""
    executor = ScriptedExecutor({"Echo": returns("ok")})
    looped = task(
        "1",
        script="Echo",
        args={"x": simple("${X}"), "y": simple("${Y}"), "z": simple("9")},
        loop={"forEach": True, "max": 100, "wait": 1},
    )
    result = run(book(looped), executor, incident=Incident(context={"X": [1, 2, 3], "Y": ["a", "b", "c"]}))
    assert result.completed, result.error
    assert [dict(call.args) for call in executor.calls] == [
        {"x": 1, "y": "a", "z": "9"},
        {"x": 2, "y": "b"},
        {"x": 3, "y": "c"},
    ], executor.calls


def counter(_call: CommandCall, incident: Incident) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    count = int(incident.context.get("Count") or 0) + 1
    return [note(count)], {"Count(true)": count}


@pytest.mark.parametrize(
    ("loop", "runs", "message"),
    [
        pytest.param(
            {"max": 10, "wait": 30, "builtincondition": [[check("greaterThanOrEqual", "Count", "3")]]},
            3,
            "exit condition met after 3 iteration(s)",
            id="until-condition",
        ),
        pytest.param(
            {"max": 10, "builtincondition": [branch("exit", [check("isEqualNumber", "Count", "2")])]},
            2,
            "exit condition met after 2 iteration(s)",
            id="until-condition-as-a-branch",
        ),
        pytest.param(
            {"max": 4, "wait": 30, "builtincondition": [[check("isEqualNumber", "Count", "99")]]},
            4,
            "stopped at max 4 iteration(s)",
            id="max-reached",
        ),
        pytest.param({"max": 5, "scriptId": "Enough"}, 2, "exit condition met after 2", id="until-script"),
        pytest.param(
            {"max": 5, "scriptId": "Enough", "exitCondition": "no"}, 1, "exit condition met after 1", id="exit-label"
        ),
    ],
)
def test_loop_until(loop: dict[str, Any], runs: int, message: str) -> None:
    """Given a task looping until a condition or a script says so, When run, Then it runs until then or `max`, and
    each `wait` is shortened to the local cap."""
    waits: list[float] = []
    executor = ScriptedExecutor(
        {
            "Count": counter,
            "Enough": lambda _call, incident: ([note("yes" if incident.context.get("Count") == 2 else "no")], {}),
        }
    )
    result = run(book(task("1", script="Count", loop=loop)), executor, sleep=waits.append, max_wait=0.5)
    assert result.completed, result.error
    assert result.incident.context["Count"] == runs, result.incident.context
    assert message in result.tasks[-1].message, result.tasks[-1].message
    expected_wait = [0.5] * (runs - 1) if loop.get("wait", 0) else []
    assert waits == expected_wait, waits


def test_a_looped_sub_playbook_with_its_own_context_exits_on_that_context() -> None:
    """Given a sub-playbook with its own context (`separatecontext`) that sets Private.Seen, which is not one of its
    outputs, looped until Private.Seen exists (at most 4 times)
    When run
    Then it runs once: the exit condition reads the sub-playbook's context, as the server documents its loops, and
    Private.Seen still does not reach the parent"""
    executor = ScriptedExecutor({"Emit": emit})
    exit_check = {"max": 4, "builtincondition": [[check("isExists", "Private.Seen")]]}
    looped = task(
        "1",
        "playbook",
        separatecontext=True,
        args={"word": simple("hi")},
        loop=exit_check,
        **{"task": {"name": "Sub", "playbookName": "Child"}},
    )
    result = run(book(looped), executor, Library({"Child": CHILD}))
    assert result.completed, result.error
    assert len(executor.calls) == 1, f"the loop ran {len(executor.calls)} times: {result.tasks[-1].message}"
    assert "exit condition met after 1 iteration(s)" in result.tasks[-1].message, result.tasks[-1].message
    assert result.incident.context == {"Out": {"Word": "hi"}}, result.incident.context


def polling_answer(done_at: int, every: int = 20, timeout: int = 600) -> Answer:
    def answer(call: CommandCall, _incident: Incident) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        attempt = int(call.args.get("attempt") or 1)
        if attempt >= done_at:
            return [note("done")], {"Polled": attempt}
        schedule = {
            "PollingCommand": "Poll",
            "NextRun": str(every),
            "PollingArgs": {"attempt": attempt + 1},
            "Timeout": str(timeout),
        }
        return [{**note(f"run {attempt}"), **schedule}], {}

    return answer


def test_polling_reruns_until_done_and_waits_are_shortened() -> None:
    """Given a command whose results schedule it again (NextRun 5 s, raised to the server's 10 s minimum), When
    run, Then the task re-runs with PollingArgs until done, waiting at most the local cap each time."""
    waits: list[float] = []
    executor = ScriptedExecutor({"Poll": polling_answer(3, every=5)})
    result = run(book(task("1", script="Brand|||Poll")), executor, sleep=waits.append, max_wait=2)
    assert result.completed, result.error
    assert [(call.brand, dict(call.args)) for call in executor.calls] == [
        ("Brand", {}),
        ("Brand", {"attempt": 2}),
        ("Brand", {"attempt": 3}),
    ], executor.calls
    assert result.incident.context == {"Polled": 3}, result.incident.context
    assert waits == [2, 2], waits
    assert "polled: 2 more run(s), 20 s of server time" in result.tasks[-1].message, result.tasks[-1]
    assert [item.entry["Contents"] for item in result.entries] == ["run 1", "run 2", "done"], result.entries


def test_polling_times_out_as_the_server_counts() -> None:
    """Given a polling command never done, NextRun 60 s and Timeout 150 s, When run, Then the task fails after the
    two re-runs the server would make, with every entry in the War Room."""
    executor = ScriptedExecutor({"Poll": polling_answer(99, every=60, timeout=150)})
    result = run(book(task("1", script="Poll")), executor)
    assert not result.completed
    assert "polling Poll timed out: still scheduled after 150 s" in str(result.error), result.error
    assert len(executor.calls) == 3, executor.calls
    assert len(result.entries) == 3, result.entries


@pytest.mark.parametrize(
    ("installed", "calls"),
    [pytest.param(set(), 0, id="not-installed-skipped"), pytest.param({"Maybe"}, 1, id="installed-runs")],
)
def test_skipunavailable(installed: set[str], calls: int) -> None:
    """Given a `skipunavailable` task, When its script is not installed, Then it is skipped and the run goes on;
    when it is, it runs."""
    executor = ScriptedExecutor({"Maybe": returns("ran")})
    playbook = book(task("1", script="Maybe", skipunavailable=True, then=["2"]), task("2", "title"))
    result = run(playbook, executor, Library(installed=installed))
    assert result.completed, result.error
    assert len(executor.calls) == calls, executor.calls
    assert ("skipped" in result.tasks[1].message) is (calls == 0), result.tasks[1]


def lookup(call: CommandCall, _incident: Incident) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    return [note(f"looked up {call.args['ip']}")], {"IP": {"Address": call.args["ip"]}}


@pytest.mark.parametrize(
    ("script", "is_array", "expected_args"),
    [
        pytest.param(
            "Brand|||ip",
            False,
            [{"ip": "1.1.1.1", "verbose": "yes"}, {"ip": "8.8.8.8", "verbose": "yes"}],
            id="command-runs-once-per-item",
        ),
        pytest.param("Brand|||ip", True, [{"ip": ["1.1.1.1", "8.8.8.8"], "verbose": "yes"}], id="isArray-once"),
        pytest.param(
            "ip",
            False,
            [{"ip": "1.1.1.1", "verbose": "yes"}, {"ip": "8.8.8.8", "verbose": "yes"}],
            id="script-runs-once-per-item",
        ),
        pytest.param("ip", True, [{"ip": ["1.1.1.1", "8.8.8.8"], "verbose": "yes"}], id="script-isArray-once"),
    ],
)
def test_a_list_for_an_argument_that_is_not_an_array(
    script: str, is_array: bool, expected_args: list[dict[str, Any]]
) -> None:
    """Given a list passed to a command's or script's argument, When the argument is not `isArray`, Then it runs
    once per item with every result kept; an `isArray` argument gets the list in one run."""
    executor = ScriptedExecutor({"ip": lookup})
    library = Library(arguments={"ip": {"ip": is_array, "verbose": False}})
    looked_up = task("1", script=script, args={"ip": simple("${Addresses}"), "verbose": simple("yes")})
    incident = Incident(context={"Addresses": ["1.1.1.1", "8.8.8.8"]})
    result = run(book(looked_up), executor, library, incident=incident)
    assert result.completed, result.error
    assert [dict(call.args) for call in executor.calls] == expected_args, executor.calls
    assert len(result.entries) == len(expected_args), "every run's entries reach the War Room"
    if len(expected_args) == 2:
        assert result.incident.context["IP"] == [{"Address": "1.1.1.1"}, {"Address": "8.8.8.8"}], result.incident


def test_current_playbook_id_is_the_sub_playbooks_and_empty_at_the_top() -> None:
    """Given ${currentPlaybookID} read at the top level and inside a sub-playbook, When run, Then it is empty at the
    top and the sub-playbook's id inside it (how IsSubPlaybook tells them apart)."""
    executor = ScriptedExecutor({"Emit": emit})
    child = parse_playbook(
        {
            "id": "child",
            "name": "Child",
            "starttaskid": "0",
            "tasks": {
                "0": task("0", "start", then=["1"]),
                "1": task("1", script="Emit", args={"word": simple("id=${currentPlaybookID}")}),
            },
        }
    )
    parent = book(
        task("1", script="Emit", args={"word": simple("id=${currentPlaybookID}")}, then=["2"]),
        task("2", "playbook", **{"task": {"name": "Sub", "playbookName": "Child"}}),
    )
    result = run(parent, executor, Library({"Child": child}))
    assert result.completed, result.error
    assert [call.args["word"] for call in executor.calls] == ["id=", "id=child"], executor.calls
