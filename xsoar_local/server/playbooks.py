"""The playbook runs feature: a playbook run on an investigation in a background thread, and its state.

Each task reads and updates the stored incident (`Investigations` is the holder), and each task's entries reach
the War Room as the task finishes, so they are in the order the tasks ran.
"""

from __future__ import annotations

import copy
import threading
from typing import Any, Final

from xsoar_local.commit import StoredIncident
from xsoar_local.incident.model import Incident
from xsoar_local.playbook.integrations import EngineExecutor
from xsoar_local.playbook.library import CatalogContent
from xsoar_local.playbook.model import Playbook
from xsoar_local.playbook.runner import (
    CONTINUED,
    TASK_ERROR,
    CommandCall,
    CommandOutcome,
    PlaybookRunner,
    TaskResult,
)
from xsoar_local.server.errors import ServerError
from xsoar_local.server.investigations import Investigations
from xsoar_local.server.records import error_entry, now
from xsoar_local.server.repository import Changes, StateRepository
from xsoar_local.server.warroom import WarRoom

# Playbook run states and task states as /inv-playbook reports them.
RUN_IN_PROGRESS, RUN_COMPLETED, RUN_FAILED = "inprogress", "completed", "failed"
TASK_STATES: Final = {TASK_ERROR: "Error", CONTINUED: "Error"}


class PlaybookRuns:
    """Playbook runs, one thread each; `state(inv_id)` is what `/inv-playbook` answers."""

    def __init__(self, state: StateRepository, investigations: Investigations, war_room: WarRoom) -> None:
        self.state = state
        self.investigations = investigations
        self.war_room = war_room
        self._threads: list[threading.Thread] = []

    def recover(self) -> None:
        """Runs a stop interrupted are failed, with a War Room entry saying so (on open)."""
        why = "the server stopped while the playbook was running; run it again"
        with self.state.transaction() as changes:
            for found in self.state.incidents():
                if found.run_status == RUN_IN_PROGRESS and found.playbook_run is not None:
                    run = self._run_of(changes, found.id)
                    run.update(state=RUN_FAILED, message=why)
                    changes.add_entries(found.id, [error_entry(f"Playbook {run.get('name')}: {why}")], "")

    def join(self, timeout: float) -> None:
        for thread in list(self._threads):
            thread.join(timeout=timeout)

    def run(self, inv_id: str, playbook: Playbook) -> None:
        """Start `playbook` on the investigation in a background thread; `state` follows it."""
        with self.state.transaction() as changes:
            changes.incident(inv_id).playbook_run = {
                "playbookId": playbook.id,
                "name": playbook.name,
                "state": RUN_IN_PROGRESS,
                "startDate": now(),
                "endDate": None,
                "message": "",
                "tasks": {
                    task_id: {
                        "id": task_id,
                        "state": "",
                        "type": task.type,
                        "task": {"name": task.name, "type": task.type},
                        "message": "",
                    }
                    for task_id, task in playbook.tasks.items()
                },
            }
        thread = threading.Thread(target=self._thread, args=(inv_id, playbook), name=f"playbook:{inv_id}")
        self._threads = [item for item in self._threads if item.is_alive()] + [thread]
        thread.start()

    @staticmethod
    def _run_of(changes: Changes, inv_id: str) -> dict[str, Any]:
        run = changes.incident(inv_id).playbook_run
        if run is None:
            raise RuntimeError(f"the playbook run of {inv_id} is not in the state")
        return run

    def _thread(self, inv_id: str, playbook: Playbook) -> None:
        shown: set[int] = set()  # entries already in the War Room (written as their command or task finished)

        def on_task(result: TaskResult) -> None:
            with self.state.transaction() as changes:
                task = self._run_of(changes, inv_id)["tasks"].setdefault(result.task_id, {"id": result.task_id})
                task.update(
                    state=TASK_STATES.get(result.status, "Completed"),
                    message=result.message,
                    completedDate=now(),
                    startDate=task.get("startDate") or now(),
                )
                fresh = [entry for entry in result.entries if id(entry) not in shown]
                if fresh:  # a built-in task's entries: in the War Room now, before the next task's
                    about = {"playbookName": playbook.name, "taskId": result.task_id, "taskName": result.name}
                    changes.add_entries(inv_id, fresh, "", entryTask=about)
            shown.update(id(entry) for entry in result.entries)

        session = self.war_room._session()
        executor = EngineExecutor(session)

        def execute(call: CommandCall, incident: Incident) -> CommandOutcome:
            if call.kind != "script":
                try:
                    self.war_room._check_runnable(call.command, {"using-brand": call.brand} if call.brand else {})
                except ServerError as error:
                    return CommandOutcome((), incident, error.detail)
            outcome = executor(call, incident)
            task = {
                "playbookName": playbook.name,
                "taskId": call.task_id,
                "taskName": playbook.tasks[call.task_id].name,
            }
            # The entries reach the War Room now; the task's context changes when the runner merges them.
            with self.state.transaction() as changes:
                changes.add_entries(inv_id, list(outcome.entries), "", entryTask=task)
            shown.update(id(entry) for entry in outcome.entries)
            return outcome

        try:
            content = CatalogContent(session.catalog, session.instances)
            run = PlaybookRunner(execute, on_task=on_task, operators=executor.operators, content=content).run(
                playbook, StoredIncident(self.investigations, inv_id)
            )
        except Exception as error:  # a bug must still end the run, not leave it "inprogress" forever
            with self.state.transaction() as changes:
                self._run_of(changes, inv_id).update(
                    state=RUN_FAILED, message=f"{type(error).__name__}: {error}", endDate=now()
                )
                changes.add_entries(inv_id, [error_entry(f"Playbook {playbook.name} failed: {error}")], "")
            return
        with self.state.transaction() as changes:  # the incident was updated task by task; never replaced here
            for item in run.entries:
                if id(item.entry) in shown:
                    continue
                task = {"playbookName": playbook.name, "taskId": item.task_id, "taskName": item.task_name}
                changes.add_entries(inv_id, [item.entry], "", entryTask=task)
            self._run_of(changes, inv_id).update(
                state=RUN_COMPLETED if run.completed else RUN_FAILED, message=run.error or "", endDate=now()
            )
            if run.error:
                changes.add_entries(inv_id, [error_entry(f"Playbook {playbook.name} failed: {run.error}")], "")

    def state_of(self, inv_id: str) -> dict[str, Any]:
        """`GET /inv-playbook/{id}`: the run's state (new, inprogress, completed, failed) and its tasks."""
        with self.state.lock:
            record = self.state.incident(inv_id)
            found = None if record.playbook_run is None else copy.deepcopy(record.playbook_run)
        if found is None:
            return {"id": inv_id, "investigationId": inv_id, "state": "new", "playbookId": "", "tasks": {}}
        return {"id": inv_id, "investigationId": inv_id, **found}
