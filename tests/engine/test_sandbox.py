"""The sandbox's engine side in isolation (no child process): what demistomock's replacements answer and record."""

from __future__ import annotations

import types
from typing import Any

import pytest

from xsoar_local.engine.entries import LogEntry
from xsoar_local.engine.sandbox import Engine, _LogWriter

JOB: dict[str, Any] = {
    "args": {"text": "hi"},
    "params": {"url": "https://x/"},
    "command": "cmd",
    "brand": "Brand",
    "instance": "Brand_instance_1",
    "is_debug": False,
    "integration_context": {"a": 1},
    "context": {"C": 1},
    "incident": {"id": "7"},
}


def installed() -> tuple[Engine, types.ModuleType]:
    engine = Engine(dict(JOB))
    module = types.ModuleType("demistomock_under_test")
    engine.install(module)
    return engine, module


def test_install_answers_like_the_engine() -> None:
    """Given a job, When installed on a module, Then params, args, command and callingContext come from it."""
    _, demisto = installed()
    assert (demisto.params(), demisto.args(), demisto.command()) == ({"url": "https://x/"}, {"text": "hi"}, "cmd")
    context = demisto.callingContext["context"]
    assert (context["IntegrationBrand"], context["IntegrationInstance"]) == ("Brand", "Brand_instance_1"), context
    assert demisto.callingContext["integration"] is True, "an integration command runs with integration: True"
    assert demisto.context() == {"C": 1}, "demisto.context() is the incident context"
    assert demisto.incident()["id"] == "7", "demisto.incident() is the local incident"
    assert demisto.demistoVersion()["version"] >= "6.0.0", "a version with versioned integration context"


def test_versioned_integration_context_refuses_a_stale_version() -> None:
    """Given version 0, When set with version 0 then again with 0, Then the second is refused like the server does."""
    engine, demisto = installed()
    assert demisto.getIntegrationContextVersioned() == {"context": {"a": 1}, "version": 0}
    demisto.setIntegrationContextVersioned({"a": 2}, version=0)
    with pytest.raises(ValueError, match="DB Version"):
        demisto.setIntegrationContextVersioned({"a": 3}, version=0)
    demisto.setIntegrationContextVersioned({"a": 4})  # -1: no version check
    assert (engine.integration_context, engine.version) == ({"a": 4}, 2), "the last accepted context is kept"


def test_results_logs_and_set_context_are_recorded() -> None:
    """Given calls to results, the log functions and setContext, When the result is read, Then all are there."""
    engine, demisto = installed()
    demisto.results(["a", {"b": 1}])
    demisto.info("x=%s", 1)
    demisto.error("odd %s %s", 1)  # a format mismatch must not break the integration
    demisto.setContext("Out.Value", 5)
    result = engine.result()
    assert [entry["Contents"] for entry in result["entries"]] == ["a", '{"b": 1}'], result["entries"]
    assert result["logs"] == [{"level": "info", "message": "x=1"}, {"level": "error", "message": "odd %s %s 1"}]
    assert result["context_sets"] == [["Out.Value", 5]], "setContext is recorded for the parent to apply"
    assert demisto.context() == {"C": 1, "Out": {"Value": 5}}, "and visible to later reads in the same run"


def test_print_becomes_log_lines() -> None:
    """Given text written in pieces, When lines complete and the stream is flushed, Then each line is one log entry."""
    logs: list[LogEntry] = []
    writer = _LogWriter(logs, "log")
    writer.write("one\ntw")
    writer.write("o\n")
    writer.write("three")
    writer.flush()
    assert logs == [LogEntry("log", "one"), LogEntry("log", "two"), LogEntry("log", "three")], logs
