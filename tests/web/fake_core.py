"""A small in-memory stand-in for the server core, for the web layer's own tests (no engine, no processes).

It answers in the server's REST shapes, with entries shaped like the ones the real server writes for the Yoda
Speak integration; the browser tests run against the real server instead.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from xsoar_local.errors import UsageError

YODA_TABLE = "### Yoda Says...\n|Original|Translation|\n|---|---|\n| {original} | {translation} |\n"


class FakeCore:
    """Playground "9", incidents from "1"; `!yoda-speak-translate` reverses the words, a blank text is an error."""

    def __init__(self) -> None:
        self.investigations: dict[str, list[dict[str, Any]]] = {"9": []}
        self.contexts: dict[str, dict[str, Any]] = {"9": {}}
        self.incident_fields: dict[str, dict[str, Any]] = {}
        self.runs: dict[str, dict[str, Any]] = {}
        self.lines: list[tuple[str, str]] = []
        self._ids = itertools.count(1)

    def playground_id(self) -> str:
        return "9"

    def _entry(self, investigation_id: str, **fields: Any) -> dict[str, Any]:
        entry = {
            "id": f"{next(self._ids)}@{investigation_id}",
            "investigationId": investigation_id,
            "created": datetime(2026, 11, 30, 14, 0, tzinfo=UTC).isoformat(),
            "type": 1,
            "format": "markdown",
            "user": "",
            "brand": "",
            "instance": "",
        } | fields
        self.investigations[investigation_id].append(entry)
        return entry

    def execute(self, investigation_id: str, line: str) -> list[dict[str, Any]]:
        if investigation_id not in self.investigations:
            raise LookupError(f"investigation {investigation_id}")
        self.lines.append((investigation_id, line))
        text = line.partition("text=")[2].strip().strip('"')
        if not line.startswith("!yoda-speak-translate"):
            return [
                self._entry(
                    investigation_id,
                    type=4,
                    contents=f"Unsupported Command : {line}",
                    format="text",
                    parentContent=line,
                )
            ]
        if not text.strip():
            return [
                self._entry(
                    investigation_id,
                    type=4,
                    format="text",
                    contents="Failed to execute yoda-speak-translate command.\nError: text is blank",
                    brand="YodaSpeak",
                    instance="YodaSpeak_instance_1",
                    parentContent=line,
                )
            ]
        translation = " ".join(reversed(text.split()))
        self.contexts[investigation_id]["YodaSpeak"] = {"TheForce": {"Original": text, "Translation": translation}}
        return [
            self._entry(
                investigation_id,
                contents=YODA_TABLE.format(original=text, translation=translation),
                brand="YodaSpeak",
                instance="YodaSpeak_instance_1",
                parentContent=line,
            )
        ]

    def entries(self, investigation_id: str) -> list[dict[str, Any]]:
        if investigation_id not in self.investigations:
            raise LookupError(f"investigation {investigation_id}")
        return list(self.investigations[investigation_id])

    def context(self, investigation_id: str) -> dict[str, Any]:
        return dict(self.contexts.get(investigation_id, {}))

    def incidents(self) -> list[dict[str, Any]]:
        return list(reversed(self.incident_fields.values()))

    def incident(self, incident_id: str) -> dict[str, Any]:
        return self.incident_fields[incident_id]

    def create_incident(self, name: str, details: str, playbook_id: str, severity: float) -> dict[str, Any]:
        if playbook_id and playbook_id not in {p["id"] for p in self.playbooks()}:
            raise UsageError(f"no playbook {playbook_id!r} is installed")
        incident_id = str(len(self.incident_fields) + 1)
        fields = {
            "id": incident_id,
            "name": name,
            "details": details,
            "severity": severity,
            "status": 1,
            "playbookId": playbook_id,
            "created": datetime(2026, 11, 30, 14, 0, tzinfo=UTC).isoformat(),
        }
        self.incident_fields[incident_id] = fields
        self.investigations[incident_id] = []
        self.contexts[incident_id] = {}
        if playbook_id:
            self.runs[incident_id] = {
                "playbookId": playbook_id,
                "name": "Yoda Speak",
                "state": "completed",
                "startTaskId": "0",
                "tasks": {
                    "2": {"state": "Completed", "task": {"name": "Print"}, "nextTasks": {}},
                    "0": {"state": "Completed", "task": {"name": "Start"}, "nextTasks": {"#none#": ["1"]}},
                    "1": {"state": "Completed", "task": {"name": "Translate"}, "nextTasks": {"#none#": ["2"]}},
                },
            }
        return fields

    def playbook_run(self, investigation_id: str) -> dict[str, Any] | None:
        return self.runs.get(investigation_id)

    def playbooks(self) -> list[dict[str, Any]]:
        return [{"id": "Yoda Speak", "name": "Yoda Speak"}]

    def completions(self) -> list[dict[str, Any]]:
        return [
            {
                "name": "yoda-speak-translate",
                "description": "Translate English into the way Yoda speaks.",
                "kind": "command",
                "source": "YodaSpeak",
                "arguments": [
                    {
                        "name": "text",
                        "description": "The text to translate.",
                        "required": True,
                        "default": True,
                        "predefined": [],
                    },
                ],
            },
            {
                "name": "DeleteContext",
                "description": "Delete a context key.",
                "kind": "script",
                "source": "Builtin",
                "arguments": [
                    {
                        "name": "all",
                        "description": "Delete everything.",
                        "required": False,
                        "default": False,
                        "predefined": ["yes", "no"],
                    },
                    {"name": "key", "description": "The key.", "required": False, "default": False, "predefined": []},
                ],
            },
        ]
