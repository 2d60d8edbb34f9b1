"""How jobs are carried out: the one place that picks an executor for a job.

    from xsoar_local.engine.executors import executor_for, register_executor
    result = executor_for(job).run(job, on_request, RunOptions(env=..., timeout=..., python=...))

Executors by the job's `language`:

- `python`: the warm executor (`warm.WarmExecutor`: one pre-imported worker per docker image, created on first use
  and forked per command, stopped at process exit), or, with the warm switch off, the cold executor
  (`cold.ColdExecutor`: a fresh interpreter per command).
- another language: what `register_executor(language, factory)` registered. The factory gets the warm switch and
  returns an `Executor` (`base.Executor`); it is called once per (language, switch) and the executor is kept for
  the process and closed at its exit. A JavaScript engine registers itself with
  `register_executor("javascript", factory)`, or by defining `make_executor(warm)` in `xsoar_local.engine.javascript`
  (imported on the first JavaScript job); nothing else changes.

The warm switch: `warm=` where a caller decides (the server's `--cold`), else `set_warm(False)` (the CLI's `--cold`),
else the environment variable `XSOAR_LOCAL_WARM` (`off`, `0`, `false` or `no`: cold), else warm.

This package imports its executors on first use: the warm worker (`zygote`) runs inside an image's environment.
"""

from __future__ import annotations

import atexit
import importlib
import importlib.util
import os
import threading
from collections.abc import Callable, Mapping
from typing import Any

from xsoar_local.engine.executors.base import (
    DEFAULT_TIMEOUT,
    PREFAULT_ENV,
    Executor,
    RequestHandler,
    RunOptions,
    prefault_enabled,
    refuse_nested,
    set_prefault_default,
)
from xsoar_local.engine.jobs import PYTHON, Job
from xsoar_local.engine.limits import Limits
from xsoar_local.errors import EngineError

WARM_ENV = "XSOAR_LOCAL_WARM"
_OFF = frozenset({"off", "0", "false", "no"})

ExecutorFactory = Callable[[bool], Executor]


class UnsupportedLanguageError(EngineError):
    """No executor is registered for a job's language."""


def _python(warm: bool) -> Executor:
    if warm:
        executor: Executor = importlib.import_module("xsoar_local.engine.executors.warm").WarmExecutor()
    else:
        executor = importlib.import_module("xsoar_local.engine.executors.cold").ColdExecutor()
    return executor


_factories: dict[str, ExecutorFactory] = {PYTHON: _python}
_executors: dict[tuple[str, bool], Executor] = {}
_lock = threading.Lock()
_override: bool | None = None


def register_executor(language: str, factory: ExecutorFactory) -> None:
    """Run jobs of `language` with the executor `factory(warm)` makes (replacing an earlier registration)."""
    with _lock:
        _factories[language] = factory
        for key in [key for key in _executors if key[0] == language]:
            _executors.pop(key).close()


def languages() -> list[str]:
    """The languages an executor is registered for."""
    return sorted(_factories)


def supports(language: str) -> bool:
    """True when jobs of `language` can run: an executor is registered, or `xsoar_local.engine.<language>` exists
    and registers one when imported (the JavaScript engine's package does; nothing else imports it first)."""
    if language in _factories:
        return True
    if not language.isidentifier() or importlib.util.find_spec(f"xsoar_local.engine.{language}") is None:
        return False
    module = importlib.import_module(f"xsoar_local.engine.{language}")
    factory = getattr(module, "make_executor", None)
    if language not in _factories and callable(factory):
        register_executor(language, factory)
    return language in _factories


_UNSET = object()
_saved_env: object = _UNSET  # XSOAR_LOCAL_WARM as it was before `set_warm(False)` exported "off"


def set_warm(warm: bool | None) -> None:
    """The process's warm switch (`--cold` sets False); None returns the choice to `XSOAR_LOCAL_WARM`.

    False also exports `XSOAR_LOCAL_WARM=off` (restored when the switch is reset), so that the toolkit's own worker
    processes (`test-playbooks -j N`) run cold too; content never sees it (its environment is an allow-list).
    """
    global _override, _saved_env
    if warm is False and _saved_env is _UNSET:
        _saved_env = os.environ.get(WARM_ENV)
        os.environ[WARM_ENV] = "off"
    elif warm is not False and _saved_env is not _UNSET:
        if isinstance(_saved_env, str):
            os.environ[WARM_ENV] = _saved_env
        else:
            os.environ.pop(WARM_ENV, None)
        _saved_env = _UNSET
    _override = warm


def warm_enabled() -> bool:
    """Whether jobs run warm when their caller does not say: `set_warm`, else `XSOAR_LOCAL_WARM`, else yes."""
    if _override is not None:
        return _override
    return os.environ.get(WARM_ENV, "").strip().lower() not in _OFF


def executor_for(job: Job, *, warm: bool | None = None) -> Executor:
    """The executor that runs `job` (by its language and the warm switch), made on first use."""
    chosen = warm_enabled() if warm is None else warm
    key = (job.language, chosen)
    if not supports(job.language):
        raise UnsupportedLanguageError(
            f"{job.kind} {job.name!r} is {job.language}: the local engine runs {', '.join(languages())}"
        )
    with _lock:
        executor = _executors.get(key)
        if executor is None:
            executor = _executors[key] = _factories[job.language](chosen)
        return executor


def check_settings(environ: Mapping[str, str] | None = None, *, timeout: float | None = None) -> Limits:
    """Every setting the engine reads from the environment, checked before anything runs, so that a bad one ends
    a command in one line instead of failing each job alike: the limits (`Limits.from_environment`, with
    `timeout` from a `--timeout` flag) and the executors' own (`PREFAULT_ENV`). Returns the limits; raises the
    UsageError that names what to set."""
    limits = Limits.from_environment(environ, timeout=timeout)
    prefault_enabled(environ)
    return limits


def add_cold_option(parser: Any) -> None:
    """The `--cold` option of a command line that runs jobs (`set_warm(False)` when it is given)."""
    parser.add_argument(
        "--cold",
        action="store_true",
        help=f"run each command in a fresh process instead of a warm worker (also: {WARM_ENV}=off)",
    )


def shutdown() -> None:
    """Stop every executor's workers (at process exit; a later job starts them again)."""
    with _lock:
        executors = list(_executors.values())
        _executors.clear()
    for executor in executors:
        executor.close()


atexit.register(shutdown)

__all__ = [
    "DEFAULT_TIMEOUT",
    "PREFAULT_ENV",
    "WARM_ENV",
    "Executor",
    "ExecutorFactory",
    "RequestHandler",
    "RunOptions",
    "UnsupportedLanguageError",
    "add_cold_option",
    "check_settings",
    "executor_for",
    "languages",
    "prefault_enabled",
    "refuse_nested",
    "register_executor",
    "set_prefault_default",
    "set_warm",
    "shutdown",
    "warm_enabled",
]
