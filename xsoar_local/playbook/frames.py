"""What one walk of a playbook carries beside the incident: its inputs, the entries of the last completed task,
and where it sits (a sub-playbook inside its parent's task); and what the runner may ask the content."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from xsoar_local.playbook.expressions import Resolver
from xsoar_local.playbook.model import Playbook, Task
from xsoar_local.playbook.records import WarRoomEntry

INPUTS_ROOT = "inputs"
LAST_ENTRIES_ROOT = "lastCompletedTaskEntries"
PLAYBOOK_ID_ROOT = "currentPlaybookID"  # the running sub-playbook's id; empty at the top level


class PlaybookContent(Protocol):
    """The content a run may need beyond the executor: sub-playbooks, and whether a task's script is installed."""

    def playbook(self, reference: str) -> Playbook | None:
        """The playbook whose id or name is `reference`; None when the content has none."""
        ...

    def available(self, script: str, brand: str) -> bool:
        """True when `script` (a script name, or `Brand|||command`) can run: installed, with an instance."""
        ...

    def array_arguments(self, command: str, brand: str) -> Mapping[str, bool] | None:
        """An integration command's arguments and whether each is `isArray`; None when the command is unknown."""
        ...


@dataclass
class Frame:
    """One playbook's walk: the playbook, its resolved inputs, and the ids of the entries the last task wrote."""

    playbook: Playbook
    inputs: Mapping[str, Any]
    top_task_id: str = ""  # in a sub-playbook: the top-level task that runs it (command calls name that task)
    prefix: str = ""  # in a sub-playbook: `<parent task id>.` before its tasks' ids in the work plan
    depth: int = 0
    last_entries: list[str] = field(default_factory=list)
    counter: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def entry(self, task: Task, entry: Mapping[str, Any]) -> WarRoomEntry:
        """An entry a task wrote, with an id (the entry's own when it has one)."""
        own = entry.get("ID") or entry.get("id")
        entry_id = str(own) if own else f"{next(self.counter)}@{self.playbook.id}"
        return WarRoomEntry(self.prefix + task.id, task.name, entry, entry_id)

    def child(self, playbook: Playbook, inputs: Mapping[str, Any], task: Task) -> Frame:
        """The frame of a sub-playbook that `task` runs from this frame."""
        return Frame(
            playbook,
            inputs,
            top_task_id=self.top_task_id or task.id,
            prefix=f"{self.prefix}{task.id}.",
            depth=self.depth + 1,
            counter=self.counter,
        )


def frame_view(view: Mapping[str, Any], frame: Frame | None) -> Mapping[str, Any]:
    """The incident's view with the frame's `inputs`, `lastCompletedTaskEntries` and `currentPlaybookID` roots."""
    if frame is None:
        return view
    return {
        **view,
        INPUTS_ROOT: dict(frame.inputs),
        LAST_ENTRIES_ROOT: list(frame.last_entries),
        PLAYBOOK_ID_ROOT: frame.playbook.id if frame.depth else "",
    }


def top_inputs(playbook: Playbook, resolver: Resolver, given: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A playbook's inputs: each given value, else its `inputs:` default resolved on the caller's view."""
    given = given or {}
    values: dict[str, Any] = {}
    for item in playbook.inputs:
        values[item.key] = given[item.key] if item.key in given else resolver.argument(item.value)
    for key, value in given.items():
        values.setdefault(key, value)
    return values
