"""`Tests/conf.json` of a content repository: which integrations and instances a test playbook uses, and what
is skipped.

Content's file has `tests` (one entry per test playbook: `playbookID`, `integrations` and `instance_names` as a
string or a list, `timeout`, ...), `skipped_tests` and `skipped_integrations` (each a name -> reason object). Keys
the local run has no use for (`nightly`, `fromversion`, `marketplaces`, `testTimeout`, ...) are read past.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xsoar_local.errors import ContentError

CONF_PATH = Path("Tests") / "conf.json"


class ConfError(ContentError):
    """Tests/conf.json cannot be read or does not have content's shape."""


@dataclass(frozen=True)
class ConfTest:
    """One `tests` entry: a test playbook and the integrations (and their instances) it needs."""

    playbook_id: str
    integrations: tuple[str, ...] = ()
    instance_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class TestsConf:
    """What Tests/conf.json says (an empty conf when the file is absent)."""

    source: Path | None = None
    tests: Mapping[str, ConfTest] = field(default_factory=dict)
    skipped_tests: Mapping[str, str] = field(default_factory=dict)
    skipped_integrations: Mapping[str, str] = field(default_factory=dict)

    def entry(self, playbook_id: str) -> ConfTest | None:
        """The `tests` entry of a playbook id, if it has one."""
        return self.tests.get(playbook_id)

    def skip_reason(self, playbook_id: str) -> str | None:
        """Why the playbook is skipped (its own `skipped_tests` line, or an integration it uses), else None."""
        if playbook_id in self.skipped_tests:
            return f"skipped_tests in {CONF_PATH}: {self.skipped_tests[playbook_id]}"
        entry = self.entry(playbook_id)
        for integration in entry.integrations if entry else ():
            if integration in self.skipped_integrations:
                reason = self.skipped_integrations[integration]
                return f"uses {integration!r}, in skipped_integrations of {CONF_PATH}: {reason}"
        return None


def _names(value: Any, where: str) -> tuple[str, ...]:
    """A string or a list of strings (content writes both)."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise ConfError(f"{where} must be a string or a list of strings, not {json.dumps(value)[:80]}")


def _reasons(document: Mapping[str, Any], key: str, source: Path) -> dict[str, str]:
    value = document.get(key, {})
    if not isinstance(value, Mapping) or not all(isinstance(item, str) for item in value):
        raise ConfError(f"{source}: `{key}` must be an object of name -> reason")
    return {str(name): str(reason) for name, reason in value.items()}


def parse_conf(document: Any, source: Path) -> TestsConf:
    """Check and read a parsed conf.json document."""
    if not isinstance(document, Mapping):
        raise ConfError(f"{source} must hold a JSON object with `tests`, `skipped_tests`, `skipped_integrations`")
    raw_tests = document.get("tests", [])
    if not isinstance(raw_tests, list):
        raise ConfError(f"{source}: `tests` must be a list of {{playbookID, integrations, instance_names}} objects")
    tests: dict[str, ConfTest] = {}
    for index, raw in enumerate(raw_tests):
        where = f"{source}: tests[{index}]"
        if not isinstance(raw, Mapping) or not isinstance(raw.get("playbookID"), str) or not raw["playbookID"]:
            raise ConfError(f"{where} needs a `playbookID` string (the test playbook's id)")
        playbook_id = raw["playbookID"]
        entry = ConfTest(
            playbook_id,
            _names(raw.get("integrations"), f"{where}.integrations"),
            _names(raw.get("instance_names"), f"{where}.instance_names"),
        )
        # Content lists a playbook once per marketplace at times: the integrations and instances add up.
        if playbook_id in tests:
            before = tests[playbook_id]
            entry = ConfTest(
                playbook_id,
                tuple(dict.fromkeys(before.integrations + entry.integrations)),
                tuple(dict.fromkeys(before.instance_names + entry.instance_names)),
            )
        tests[playbook_id] = entry
    return TestsConf(
        source,
        tests,
        _reasons(document, "skipped_tests", source),
        _reasons(document, "skipped_integrations", source),
    )


def load_conf(repository: Path) -> TestsConf:
    """`<repository>/Tests/conf.json` when present, else an empty conf."""
    source = repository / CONF_PATH
    if not source.is_file():
        return TestsConf()
    try:
        document = json.loads(source.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfError(f"cannot read {source}: {error.strerror or error}") from error
    except UnicodeDecodeError as error:
        raise ConfError(f"{source} is not UTF-8 text: {error.reason}") from error
    except json.JSONDecodeError as error:
        raise ConfError(
            f"{source} is not valid JSON at line {error.lineno} column {error.colno}: {error.msg}"
        ) from error
    return parse_conf(document, source)
