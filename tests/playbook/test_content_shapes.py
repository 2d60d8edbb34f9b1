"""Shapes public content writes that the server accepts: a `complex` root written as a reference, a transformer
script whose result is an empty list or comes in several results, a filter script that returns a one-item list or
answers more than once, a script reading the last task's entries back with getEntry, a task's `extend-context`,
a list given to a script's argument that is not `isArray`, and the fields a server sets on the new incident a test
playbook runs on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from xsoar_local.cli import main


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _script(pack: Path, name: str, kind: str, tags: list[str], args: list[str], code: str) -> None:
    spec = {
        "commonfields": {"id": name, "version": -1},
        "name": name,
        "script": "",
        "type": kind,
        "tags": tags,
        "args": [{"name": arg} for arg in args],
    }
    if kind == "python":
        spec.update({"subtype": "python3", "dockerimage": "demisto/python3:3.11.10.115186"})
    _write(pack / "Scripts" / name / f"{name}.yml", yaml.safe_dump(spec, sort_keys=False))
    _write(pack / "Scripts" / name / f"{name}.{'py' if kind == 'python' else 'js'}", code)


def _task(task_id: str, kind: str, then: dict[str, list[str]] | None = None, **extra: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {"id": task_id, "type": kind, "task": {"name": f"task {task_id}", "type": kind}, **extra}
    if then:
        raw["nexttasks"] = then
    return raw


def _set(task_id: str, then: str, name: str, key: str, value: dict[str, Any]) -> dict[str, Any]:
    """A regular task running Set with `key` and `value` (a `simple` or `complex` argument), then `then`."""
    task = {"name": name, "type": "regular", "scriptName": "Set"}
    return _task(
        task_id, "regular", {"#none#": [then]}, task=task, scriptarguments={"key": {"simple": key}, "value": value}
    )


def _check(operator: str, left: dict[str, Any], right: str | None = None) -> list[dict[str, Any]]:
    check: dict[str, Any] = {"operator": operator, "left": {"value": left, "iscontext": True}}
    if right is not None:
        check["right"] = {"value": {"simple": right}}
    return [check]


def _playbook() -> dict[str, Any]:
    kept = {
        "root": "${Words}",
        "filters": [
            [
                {
                    "operator": "StartsWithOne",
                    "left": {"value": {"simple": "${Words}"}, "iscontext": True},
                    "right": {"value": {"simple": "a"}},
                }
            ]
        ],
    }
    emptied = {"root": "Words", "transformers": [{"operator": "NothingLeft"}]}
    return {
        "id": "Content shapes",
        "name": "Content shapes",
        "starttaskid": "0",
        "tasks": {
            "0": _task("0", "start", {"#none#": ["1"]}),
            "1": _set("1", "2", "set words", "Words", {"simple": '["alpha", "beta"]'}),
            "2": _set("2", "3", "keep a-words", "Kept", {"complex": kept}),
            "3": _task(
                "3",
                "condition",
                {"yes": ["4"]},
                conditions=[
                    {
                        "label": "yes",
                        "condition": [
                            _check("isEqualString", {"simple": "Kept"}, "alpha"),
                            _check("isNotExists", {"complex": emptied}),
                        ],
                    }
                ],
            ),
            "4": _task("4", "title"),
        },
    }


def _pieces_playbook() -> dict[str, Any]:
    check = {
        "operator": "AnswersPerPiece",
        "left": {"value": {"simple": "${Pairs}"}, "iscontext": True},
        "right": {"value": {"simple": "k1"}},
    }
    kept = {"root": "${Pairs}", "filters": [[check]]}
    return {
        "id": "Filter answers per piece",
        "name": "Filter answers per piece",
        "starttaskid": "0",
        "tasks": {
            "0": _task("0", "start", {"#none#": ["1"]}),
            "1": _set("1", "2", "set pairs", "Pairs", {"simple": "k1:v1,k2:v2"}),
            "2": _set("2", "3", "keep when k1 leads", "FirstPieceMatches", {"complex": kept}),
            "3": _task(
                "3",
                "condition",
                {"yes": ["4"]},
                conditions=[
                    {
                        "label": "yes",
                        "condition": [_check("isEqualString", {"simple": "FirstPieceMatches"}, "k1:v1,k2:v2")],
                    }
                ],
            ),
            "4": _task("4", "title"),
        },
    }


def _several_results_playbook() -> dict[str, Any]:
    numbers = {"root": "${Pairs}", "transformers": [{"operator": "EachOnItsOwn"}]}
    return {
        "id": "Several results",
        "name": "Several results",
        "starttaskid": "0",
        "tasks": {
            "0": _task("0", "start", {"#none#": ["1"]}),
            "1": _set("1", "2", "set pairs", "Pairs", {"simple": "k1:v1,k2:v2"}),
            "2": _set("2", "3", "numbers from a transformer", "Numbers", {"complex": numbers}),
            "3": _task(
                "3",
                "condition",
                {"yes": ["4"]},
                conditions=[
                    {
                        "label": "yes",
                        "condition": [
                            _check("hasLength", {"simple": "Numbers"}, "3"),
                            _check("isEqualNumber", {"simple": "Numbers.[2]"}, "3"),
                        ],
                    }
                ],
            ),
            "4": _task("4", "title"),
        },
    }


def _read_back_playbook() -> dict[str, Any]:
    return {
        "id": "Read back",
        "name": "Read back",
        "starttaskid": "0",
        "tasks": {
            "0": _task("0", "start", {"#none#": ["1"]}),
            "1": _task("1", "regular", {"#none#": ["2"]}, task={"name": "say", "type": "regular", "scriptName": "Say"}),
            "2": _task(
                "2",
                "regular",
                {"#none#": ["3"]},
                task={"name": "read it back", "type": "regular", "scriptName": "ReadBack"},
                scriptarguments={"id": {"simple": "${lastCompletedTaskEntries.[0]}"}},
            ),
            "3": _task(
                "3",
                "condition",
                {"yes": ["4"]},
                conditions=[{"label": "yes", "condition": [_check("isEqualString", {"simple": "Read"}, "hello")]}],
            ),
            "4": _task("4", "title"),
        },
    }


def _extend_playbook() -> dict[str, Any]:
    return {
        "id": "Extend context",
        "name": "Extend context",
        "starttaskid": "0",
        "tasks": {
            "0": _task("0", "start", {"#none#": ["1"]}),
            "1": _task(
                "1",
                "regular",
                {"#none#": ["4"]},
                task={"name": "answer", "type": "regular", "scriptName": "Answer"},
                scriptarguments={"extend-context": {"simple": "Picked=outer.inner::Whole=."}},
            ),
            "4": _task(
                "4",
                "regular",
                {"#none#": ["5"]},
                task={"name": "answer with an object", "type": "regular", "scriptName": "AnswerObject"},
                scriptarguments={"extend-context": {"simple": "JsPicked=outer.inner::JsWhole=."}},
            ),
            "5": _task(
                "5",
                "regular",
                {"#none#": ["2"]},
                task={"name": "answer with a dict", "type": "regular", "scriptName": "AnswerDict"},
                scriptarguments={"extend-context": {"simple": "PyPicked=outer.inner"}},
            ),
            "2": _task(
                "2",
                "condition",
                {"yes": ["3"]},
                conditions=[
                    {
                        "label": "yes",
                        "condition": [
                            _check("isEqualNumber", {"simple": "Picked"}, "7"),
                            _check("isEqualNumber", {"simple": "Whole.outer.inner"}, "7"),
                            _check("isEqualNumber", {"simple": "JsPicked"}, "8"),
                            _check("isEqualNumber", {"simple": "JsWhole.outer.inner"}, "8"),
                            _check("isEqualNumber", {"simple": "PyPicked"}, "9"),
                        ],
                    }
                ],
            ),
            "3": _task("3", "title"),
        },
    }


def _per_item_playbook() -> dict[str, Any]:
    return {
        "id": "Per item",
        "name": "Per item",
        "starttaskid": "0",
        "tasks": {
            "0": _task("0", "start", {"#none#": ["1"]}),
            "1": _set("1", "2", "set words", "Words", {"simple": '["alpha", "beta"]'}),
            "2": _task(
                "2",
                "regular",
                {"#none#": ["3"]},
                task={"name": "note each", "type": "regular", "scriptName": "NoteOne"},
                scriptarguments={"word": {"simple": "${Words}"}},
            ),
            "3": _task(
                "3",
                "condition",
                {"yes": ["4"]},
                conditions=[
                    {
                        "label": "yes",
                        "condition": [
                            _check("hasLength", {"simple": "Seen"}, "2"),
                            _check("isEqualString", {"simple": "Seen.[1]"}, "beta"),
                        ],
                    }
                ],
            ),
            "4": _task("4", "title"),
        },
    }


def _fresh_incident_playbook() -> dict[str, Any]:
    year = [{"operator": "substringTo", "args": {"to": {"value": {"simple": "-"}}}}]
    return {
        "id": "Fresh incident",
        "name": "Fresh incident",
        "starttaskid": "0",
        "tasks": {
            "0": _task("0", "start", {"#none#": ["1"]}),
            "1": _task(
                "1",
                "condition",
                {"yes": ["2"]},
                conditions=[
                    {
                        "label": "yes",
                        "condition": [
                            _check(
                                "greaterThanOrEqual",
                                {"complex": {"root": "incident.occurred", "transformers": year}},
                                "2023",
                            ),
                            _check("isNotEmpty", {"simple": "incident.created"}),
                            _check("isEqualString", {"simple": "incident.playbookId"}, "Fresh incident"),
                        ],
                    }
                ],
            ),
            "2": _task("2", "title"),
        },
    }


@pytest.fixture
def packs(tmp_path: Path) -> Path:
    """A pack with a Python transformer that answers an empty list and a JavaScript filter that answers a list."""
    pack = tmp_path / "Packs" / "Shapes"
    _write(pack / "pack_metadata.json", json.dumps({"name": "Shapes", "currentVersion": "1.0.0"}))
    _script(pack, "NothingLeft", "python", ["transformer", "entirelist"], ["value"], "demisto.results([])\n")
    _script(
        pack,
        "StartsWithOne",
        "javascript",
        ["filter"],
        ["left", "right"],
        "return [String(args.left).indexOf(args.right) === 0 ? 'True' : 'False'];\n",
    )
    _script(pack, "Say", "python", [], [], "demisto.results('hello')\n")
    pieces = "for piece in str(demisto.args()['left']).split(','):\n"
    pieces += "    demisto.results(piece.startswith(demisto.args()['right']))\n"
    _script(pack, "AnswersPerPiece", "python", ["filter"], ["left", "right"], pieces)
    _write(pack / "TestPlaybooks" / "playbook-Pieces.yml", yaml.safe_dump(_pieces_playbook(), sort_keys=False))
    each = "from CommonServerPython import *\n\nreturn_results([1, 2, 3])\n"
    _script(pack, "EachOnItsOwn", "python", ["transformer"], ["value"], each)
    _write(
        pack / "TestPlaybooks" / "playbook-Several.yml", yaml.safe_dump(_several_results_playbook(), sort_keys=False)
    )
    read_back = "entry = demisto.executeCommand('getEntry', {'id': demisto.args()['id']})[0]\n"
    read_back += "demisto.setContext('Read', entry['Contents'])\n"
    _script(pack, "ReadBack", "python", [], ["id"], read_back)
    answer = "demisto.results({'Type': 1, 'ContentsFormat': 'json', 'Contents': {'outer': {'inner': 7}}})\n"
    _script(pack, "Answer", "python", [], [], answer)
    _script(pack, "AnswerObject", "javascript", [], [], "return {outer: {inner: 8}};\n")
    _script(pack, "AnswerDict", "python", [], [], "demisto.results({'outer': {'inner': 9}})\n")
    _write(pack / "TestPlaybooks" / "playbook-Extend_context.yml", yaml.safe_dump(_extend_playbook(), sort_keys=False))
    note_one = "word = demisto.args()['word']\n"
    note_one += "if not isinstance(word, str):\n    raise ValueError(f'one word expected, got {word!r}')\n"
    note_one += (
        "demisto.results({'Type': 1, 'ContentsFormat': 'text', 'Contents': word, 'EntryContext': {'Seen': word}})\n"
    )
    _script(pack, "NoteOne", "python", [], ["word"], note_one)
    _write(pack / "TestPlaybooks" / "playbook-Per_item.yml", yaml.safe_dump(_per_item_playbook(), sort_keys=False))
    _write(pack / "TestPlaybooks" / "playbook-Fresh_incident.yml", yaml.safe_dump(_fresh_incident_playbook()))
    _write(pack / "TestPlaybooks" / "playbook-Content_shapes.yml", yaml.safe_dump(_playbook(), sort_keys=False))
    _write(pack / "TestPlaybooks" / "playbook-Read_back.yml", yaml.safe_dump(_read_back_playbook(), sort_keys=False))
    return tmp_path / "Packs"


@pytest.mark.parametrize(
    "playbook",
    [
        # The filter root is `${Words}`, the filter script answers ['True'] or ['False'] per item, the transformer
        # script answers []: the root is the path `Words`, only `alpha` is kept, the empty result is not defined.
        pytest.param("Content shapes", id="reference-root-listed-filter-answer-empty-transformer-result"),
        # `${lastCompletedTaskEntries.[0]}` names the entry as stored, so getEntry finds it.
        pytest.param("Read back", id="last-task-entry-read-back-with-getEntry"),
        # `extend-context` is the server's: the script never sees it, and the paths it names reach the context, from
        # an entry's contents, a JavaScript script's returned object, or a dict a Python script gave demisto.results.
        pytest.param("Extend context", id="extend-context-path-and-whole-response"),
        # A two-item list for `word` (not `isArray`) runs the script once per item, each run's outputs kept.
        pytest.param("Per item", id="script-runs-once-per-list-item"),
        # A filter script that splits its `left` on commas itself answers once a piece (True, False): the first
        # answer is the item's, so the item is kept.
        pytest.param("Filter answers per piece", id="a-filters-first-answer-decides"),
        # A transformer that writes several results (return_results([1, 2, 3]) writes each number on its own)
        # returns them all, as a list.
        pytest.param("Several results", id="a-transformers-several-results-are-a-list"),
        # The new incident has the fields a server sets (CutTransformerTest cuts `${incident.occurred}`).
        pytest.param("Fresh incident", id="incident-created-occurred-playbookId"),
    ],
)
def test_content_shapes_complete(capsys: pytest.CaptureFixture[str], packs: Path, playbook: str) -> None:
    """Given a fixture test playbook written the way public content writes it,
    When test-playbooks runs it,
    Then it completes, as it does on a server."""
    capsys.readouterr()
    status = main(["test-playbooks", "--packs", str(packs), "--json", playbook])
    document = json.loads(capsys.readouterr().out)
    result = document["results"][0]
    assert result["status"] == "passed", f"the playbook did not complete: {result}"
    assert status == 0, f"test-playbooks exited {status} although its one playbook passed"
