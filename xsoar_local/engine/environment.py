"""The environment an engine child runs in (an allow-list, never the caller's whole environment), and the runtime
check every executor makes before it starts one."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path

from xsoar_local.engine import codecache
from xsoar_local.errors import EngineError
from xsoar_local.runtime import DEFAULT_DESTINATION, REPO_ROOT, RuntimeTamperedError, read_verified

# What the child needs to run at all, taken from this process whether or not the caller passes `env`.
# TEMP/TMP are TMPDIR's Windows names; SYSTEMROOT is needed there to start Python. The COVERAGE_* variables
# let `coverage` follow the sandbox into the child (they name a config file, nothing secret).
RUNTIME_VARIABLES = frozenset(
    {
        "PATH",
        "HOME",
        "LANG",
        "TZ",
        "TMPDIR",
        "TEMP",
        "TMP",
        "SYSTEMROOT",
        "PYTHONPATH",
        "PYTHONHOME",
        "COVERAGE_PROCESS_START",
        "COVERAGE_PROCESS_CONFIG",
    }
)
RUNTIME_PREFIXES = ("LC_",)
# What an XSOAR engine passes through to an integration's container: the proxy ("Use system proxy settings"
# reads these, in either case), the CA bundle, and the request timeout CommonServerPython's BaseClient reads
# (REQUESTS_TIMEOUT, or REQUESTS_TIMEOUT.<brand> for one integration).
NETWORK_VARIABLES = frozenset(
    {
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "NO_PROXY",
        "http_proxy",
        "https_proxy",
        "no_proxy",
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "REQUESTS_TIMEOUT",
    }
)
NETWORK_PREFIXES = ("REQUESTS_TIMEOUT.",)


def _selected(environ: Mapping[str, str], names: frozenset[str], prefixes: tuple[str, ...]) -> dict[str, str]:
    return {name: value for name, value in environ.items() if name in names or name.startswith(prefixes)}


def _check_timeout(name: str, value: str) -> None:
    """CommonServerPython turns the variable into a float deep inside a request; say what is wrong up front."""
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise EngineError(f"{name}={value!r} is not a number of seconds: set it to a number such as 30, or unset it.")


def child_environment(
    parent: Mapping[str, str], env: Mapping[str, str] | None = None, repo_root: Path = REPO_ROOT
) -> dict[str, str]:
    """The environment of the sandbox process: an allow-list, never the caller's whole environment.

    CommonServerPython logs `os.environ` in debug mode, unmasked, so a token in the developer's shell must not
    reach the child. From `parent` come the variables Python needs to run (PATH, HOME, locale, TZ, temp folder,
    PYTHONPATH) and, only when `env` is None, the network settings an engine passes through (proxy, CA, timeout).
    When `env` is given it decides the network settings alone, so a test's outcome cannot depend on the shell;
    every variable in `env` is set on top. The repository root is put first on PYTHONPATH for the sandbox's
    own import of xsoar_local.
    """
    child = _selected(parent, RUNTIME_VARIABLES, RUNTIME_PREFIXES)
    if env is None:
        child.update(_selected(parent, NETWORK_VARIABLES, NETWORK_PREFIXES))
    else:
        child.update(env)
    for name, value in child.items():
        if name == "REQUESTS_TIMEOUT" or name.startswith(NETWORK_PREFIXES):
            _check_timeout(name, value)
    child["PYTHONPATH"] = os.pathsep.join(filter(None, [str(repo_root), child.get("PYTHONPATH", "")]))
    child.setdefault("PYTHONIOENCODING", "utf-8")
    return child


def check_runtime(runtime_dir: Path = DEFAULT_DESTINATION) -> None:
    """Before anything runs: a tampered runtime stops the run with one line (the child checks again). The
    runtime's compiled form is put in its cache here, outside the sandbox: the child may only read it."""
    try:
        verified = read_verified(runtime_dir)
    except RuntimeTamperedError as error:
        raise EngineError(str(error)) from error
    folder = runtime_dir.resolve()  # the child names the files by the resolved folder, and so does the cache key
    for name in ("CommonServerPython.py", "CommonServerUserPython.py"):
        if name in verified:
            codecache.ensure(str(folder / name), verified[name], folder / codecache.CACHE_FOLDER)
