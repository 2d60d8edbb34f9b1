"""Run XSOAR playbooks locally: the playbook YAML the server uses, on a local incident and engine.

For callers (the CLI, tests):

    from xsoar_local.playbook import load_playbook, PlaybookRunner, EngineExecutor, CatalogContent

    playbook = load_playbook("Packs/MyPack/Playbooks/playbook-My_Playbook.yml")    # PlaybookError if unusable
    executor = EngineExecutor(session)          # session: xsoar_local.engine.session.EngineSession (catalog, instances)
    content = CatalogContent(session.catalog, session.instances)  # sub-playbooks, skipunavailable, isArray args
    runner = PlaybookRunner(executor, max_steps=500, operators=executor.operators, content=content)
    run = runner.run(playbook, incident, inputs={"hosts": "a,b"})  # inputs: optional, over the `inputs:` defaults
    run.completed, run.error   # False + the reason (failed task, "no branch matched", step limit)
    run.tasks                  # the work plan: TaskResult(task_id, name, status, seconds, message, ...)
    run.entries                # War Room entries (WarRoomEntry(task_id, task_name, entry))
    run.incident               # the incident afterwards (context, fields)

Any `CommandExecutor` (a callable `(CommandCall, Incident) -> CommandOutcome`) can replace the engine,
which is how the tests run playbooks without child processes; script-decided conditions, loops, polling and
sub-playbooks' commands all go through it. Waits (loops, polling) are cut to `XSOAR_LOCAL_MAX_WAIT` seconds.
`xsoar_local.playbook.cli` holds the `playbook` and `test-playbooks` subcommands.
"""

from xsoar_local.playbook.frames import PlaybookContent
from xsoar_local.playbook.integrations import EngineExecutor, SessionOperators
from xsoar_local.playbook.library import CatalogContent
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
    "CatalogContent",
    "CommandCall",
    "CommandExecutor",
    "CommandOutcome",
    "EngineExecutor",
    "Playbook",
    "PlaybookContent",
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
