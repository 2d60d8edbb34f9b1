"""Run XSOAR playbooks locally: the playbook YAML the server uses, on a local incident and engine.

For callers (the CLI, tests):

    from xsoar_local.playbook import load_playbook, PlaybookRunner, EngineExecutor

    playbook = load_playbook("Packs/MyPack/Playbooks/playbook-My_Playbook.yml")    # PlaybookError if unusable
    executor = EngineExecutor(session)          # session: xsoar_local.engine.session.EngineSession (catalog, instances)
    runner = PlaybookRunner(executor, max_steps=500, operators=executor.operators)  # content transformers/filters
    run = runner.run(playbook, incident)                                          # incident: xsoar_local.incident
    run.completed, run.error   # False + the reason (failed task, "no branch matched", step limit)
    run.tasks                  # the work plan: TaskResult(task_id, name, status, seconds, message, ...)
    run.entries                # War Room entries (WarRoomEntry(task_id, task_name, entry))
    run.incident               # the incident afterwards (context, fields)

Any `CommandExecutor` (a callable `(CommandCall, Incident) -> CommandOutcome`) can replace the engine,
which is how the tests run playbooks without child processes. `xsoar_local.playbook.cli` holds the
`playbook` and `test-playbooks` subcommands.
"""

from xsoar_local.playbook.integrations import EngineExecutor, SessionOperators
from xsoar_local.playbook.model import Playbook, PlaybookError, Task, load_playbook, load_playbook_text
from xsoar_local.playbook.runner import (
    CommandCall,
    CommandExecutor,
    CommandOutcome,
    PlaybookRun,
    PlaybookRunner,
    TaskResult,
    WarRoomEntry,
)

__all__ = [
    "CommandCall",
    "CommandExecutor",
    "CommandOutcome",
    "EngineExecutor",
    "Playbook",
    "PlaybookError",
    "PlaybookRun",
    "PlaybookRunner",
    "SessionOperators",
    "Task",
    "TaskResult",
    "WarRoomEntry",
    "load_playbook",
    "load_playbook_text",
]
