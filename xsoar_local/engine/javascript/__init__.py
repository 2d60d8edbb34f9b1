"""XSOAR JavaScript automation scripts, run in an embedded QuickJS engine (quickjs-ng).

    result = run_javascript(code, args={...}, context=incident.context, on_request=handler, timeout=30)

`run_javascript` (see its docstring) returns the Python sandbox's result dict, so an executor can serve either
language. `run_job` is the same behind today's JobRunner seam (the Python sandbox's job dict in, `(result, [])`
out); `make_executor(warm)` is what the engine's executor registry asks this package for. CommonServer.js is
evaluated once per process into a prepared context; each command runs in its own copy of it (runner.py says how,
and how the time and memory limits are enforced).
"""

from xsoar_local.engine.javascript.executor import JavaScriptExecutor, make_executor
from xsoar_local.engine.javascript.runner import (
    JavaScriptRuntimeError,
    run_javascript,
    run_job,
)

__all__ = ["JavaScriptExecutor", "JavaScriptRuntimeError", "make_executor", "run_javascript", "run_job"]
