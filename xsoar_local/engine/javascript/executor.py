"""The JavaScript executor, in the shape the engine's executor registry asks of a language's package.

The registry (`xsoar_local.engine.executors`) runs a job of language `javascript` by importing this package and
calling `make_executor(warm)` once; the executor's `run(job, on_request, options)` returns the registry's
`JobResult`. Warm and cold are one here: every command is a fork of the process's prepared context.

The registry's types are used as the registry hands them over (a job with `to_json()`, options with `timeout`)
and `JobResult` is looked up when a result is made, so this module needs nothing the registry does not bring.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any, Protocol

from xsoar_local.engine.javascript.runner import RequestHandler, run_job


class _Job(Protocol):
    def to_json(self) -> dict[str, Any]: ...


class JavaScriptExecutor:
    """Runs JavaScript jobs with `run_job`; nothing is kept but the prepared context, which lives with the process."""

    def run(self, job: _Job | Mapping[str, Any], on_request: RequestHandler, options: Any) -> Any:
        """Run `job`, answering its executeCommand requests with `on_request`; the result as a `JobResult`."""
        data = dict(job) if isinstance(job, Mapping) else job.to_json()
        result, _ = run_job(data, on_request=on_request, timeout=getattr(options, "timeout", None))
        return importlib.import_module("xsoar_local.engine.jobs").JobResult.from_json(result)

    def close(self) -> None:
        """Nothing to stop."""


def make_executor(warm: bool) -> JavaScriptExecutor:
    """The executor for JavaScript jobs, whichever the warm switch (see the module docstring)."""
    del warm
    return JavaScriptExecutor()
