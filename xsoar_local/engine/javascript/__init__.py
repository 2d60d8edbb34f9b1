"""XSOAR JavaScript automation scripts, run in an embedded QuickJS engine (quickjs-ng).

    result = run_javascript(code, args={...}, context=incident.context, on_request=handler, timeout=30)

`run_javascript` (see its docstring) returns the Python sandbox's result dict, so an executor can serve either
language; `run_job` is the same behind the engine's JobRunner seam (the Python sandbox's job dict in, `(result,
[])` out). CommonServer.js is evaluated once per process into a prepared context; each command runs in its own
copy of it (runner.py says how, and how the time and memory limits are enforced).
"""

from xsoar_local.engine.javascript.runner import (
    JavaScriptRuntimeError,
    run_javascript,
    run_job,
)

__all__ = ["JavaScriptRuntimeError", "run_javascript", "run_job"]
