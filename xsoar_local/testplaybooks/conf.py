"""`Tests/conf.json` of a content repository: which integrations and instances a test playbook uses, and what
is skipped.

Content's file has `tests` (one entry per test playbook: `playbookID`, `integrations` and `instance_names` as a
string or a list, `timeout`, ...), `testTimeout`, `skipped_tests` and `skipped_integrations` (each a name -> reason
object). Keys the local run has no use for (`nightly`, `fromversion`, `marketplaces`, ...) are read past.

Timeouts follow demisto-sdk's test-content (`TestConfiguration`: `test_configuration.get("timeout",
default_test_timeout)`, the default being `conf.get("testTimeout", 30)`): an entry's `timeout`, else the file's
`testTimeout`, in whole seconds. demisto-sdk's 30 s for a file without `testTimeout` is not taken (see `timeout_for`).
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
    timeout: int | None = None  # seconds the whole playbook may take


@dataclass(frozen=True)
class PlaybookTimeout:
    """How long a test playbook may run, and who said so (named in the failure)."""

    seconds: int
    source: str


@dataclass(frozen=True)
class TestsConf:
    """What Tests/conf.json says (an empty conf when the file is absent)."""

    source: Path | None = None
    tests: Mapping[str, ConfTest] = field(default_factory=dict)
    skipped_tests: Mapping[str, str] = field(default_factory=dict)
    skipped_integrations: Mapping[str, str] = field(default_factory=dict)
    default_timeout: int | None = None  # `testTimeout`

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

    def timeout_for(self, playbook_id: str, default: PlaybookTimeout | None = None) -> PlaybookTimeout | None:
        """The playbook's own `timeout`, else `default` (--playbook-timeout), else `testTimeout`, else none.

        demisto-sdk falls back to 30 s when the file has no `testTimeout`; content's file always has one (its
        schema requires it), and a repository without it (or without the file) never asked for a deadline: 30 s
        there would fail a playbook whose first command creates its image's environment.
        """
        entry = self.entry(playbook_id)
        if entry is not None and entry.timeout is not None:
            return PlaybookTimeout(entry.timeout, str(CONF_PATH))
        if default is not None:
            return default
        if self.default_timeout is not None:
            return PlaybookTimeout(self.default_timeout, f"testTimeout in {CONF_PATH}")
        return None


def _seconds(value: Any, where: str) -> int | None:
    """A positive whole number of seconds (demisto-sdk's type: int); null is no value."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfError(f"{where} must be a positive whole number of seconds, not {json.dumps(value)[:80]}")
    return value


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
            _seconds(raw.get("timeout"), f"{where}.timeout of {playbook_id!r}"),
        )
        # Content lists a playbook once per marketplace at times: the integrations and instances add up, and the
        # longer timeout holds (a run either entry allows must not fail).
        if playbook_id in tests:
            before = tests[playbook_id]
            timeouts = [item for item in (before.timeout, entry.timeout) if item is not None]
            entry = ConfTest(
                playbook_id,
                tuple(dict.fromkeys(before.integrations + entry.integrations)),
                tuple(dict.fromkeys(before.instance_names + entry.instance_names)),
                max(timeouts) if timeouts else None,
            )
        tests[playbook_id] = entry
    return TestsConf(
        source,
        tests,
        _reasons(document, "skipped_tests", source),
        _reasons(document, "skipped_integrations", source),
        _seconds(document.get("testTimeout"), f"{source}: testTimeout"),
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
