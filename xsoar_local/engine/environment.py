"""The environment an engine child runs in (an allow-list, never the caller's whole environment), and the runtime
check every executor makes before it starts one."""

from __future__ import annotations

import hashlib
import math
import os
import uuid
from collections.abc import Mapping
from pathlib import Path

from xsoar_local.engine import codecache
from xsoar_local.errors import EngineError
from xsoar_local.runtime import (
    CACHE_ENV_VAR,
    DEFAULT_DESTINATION,
    REPO_ROOT,
    RuntimeTamperedError,
    in_checkout,
    read_verified,
    runtime_identity,
)

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
    # By name, then the names alone for the prefixes: os.environ decodes every value it iterates over.
    found = {name: environ[name] for name in names if name in environ}
    found.update({name: environ[name] for name in environ if name.startswith(prefixes)})
    return found


def _check_timeout(name: str, value: str) -> None:
    """CommonServerPython turns the variable into a float deep inside a request; say what is wrong up front."""
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise EngineError(f"{name}={value!r} is not a number of seconds: set it to a number such as 30, or unset it.")


def import_root(package_root: Path = REPO_ROOT, cache: Path | None = None) -> Path:
    """The folder the child imports xsoar_local from: a checkout itself, else (an installed package, whose
    `package_root` is the site-packages it went into) a folder of the user's cache holding only a link to the
    package. Put first on PYTHONPATH, a whole site-packages would hide the packages of the child's own environment
    (an image's pins) behind the toolkit's, and open all of it to the sandbox."""
    if in_checkout(package_root):
        return package_root
    package = (package_root / "xsoar_local").resolve()
    if not package.is_dir():
        return package_root
    if cache is None:
        cache = Path(os.environ.get(CACHE_ENV_VAR) or Path.home() / ".cache") / "xsoar-local" / "import"
    folder = cache / hashlib.sha256(str(package).encode()).hexdigest()[:16]
    link = folder / "xsoar_local"
    try:
        if not (link.is_symlink() and Path(os.readlink(link)) == package):
            folder.mkdir(parents=True, exist_ok=True)
            staged = folder / f".xsoar_local-{os.getpid()}-{uuid.uuid4().hex[:8]}"
            os.symlink(package, staged, target_is_directory=True)
            os.replace(staged, link)  # atomic: a parallel run sees the old link or the new one, never none
    except OSError:
        return package_root  # no cache to write (or no links here): the site-packages, as before
    return folder


def child_environment(
    parent: Mapping[str, str], env: Mapping[str, str] | None = None, repo_root: Path = REPO_ROOT
) -> dict[str, str]:
    """The environment of the sandbox process: an allow-list, never the caller's whole environment.

    CommonServerPython logs `os.environ` in debug mode, unmasked, so a token in the developer's shell must not
    reach the child. From `parent` come the variables Python needs to run (PATH, HOME, locale, TZ, temp folder,
    PYTHONPATH) and, only when `env` is None, the network settings an engine passes through (proxy, CA, timeout).
    When `env` is given it decides the network settings alone, so a test's outcome cannot depend on the shell;
    every variable in `env` is set on top. The folder the sandbox imports xsoar_local from (`import_root`) is
    put first on PYTHONPATH.
    """
    child = _selected(parent, RUNTIME_VARIABLES, RUNTIME_PREFIXES)
    if env is None:
        child.update(_selected(parent, NETWORK_VARIABLES, NETWORK_PREFIXES))
    else:
        child.update(env)
    for name, value in child.items():
        if name == "REQUESTS_TIMEOUT" or name.startswith(NETWORK_PREFIXES):
            _check_timeout(name, value)
    child["PYTHONPATH"] = os.pathsep.join(filter(None, [str(import_root(repo_root)), child.get("PYTHONPATH", "")]))
    child.setdefault("PYTHONIOENCODING", "utf-8")
    return child


def check_runtime(runtime_dir: Path = DEFAULT_DESTINATION) -> None:
    """Before anything runs: a tampered runtime stops the run with one line (the child checks again). The
    runtime's compiled form is put in its cache here, outside the sandbox: the child may only read it.

    A server checks before every command: the files' digests are computed again only when a file's identity
    (device, inode, size, modification and change times) differs from the last check that passed in this
    process. Any write, rename or replacement of a file changes its change time, so an edit is always
    checked; and the child, which runs the bytes, checks them again (`runtime.read_verified`)."""
    identity = runtime_identity(runtime_dir)
    if identity is not None and _CHECKED.get(str(runtime_dir)) == identity:
        return
    try:
        verified = read_verified(runtime_dir)
    except RuntimeTamperedError as error:
        _CHECKED.pop(str(runtime_dir), None)
        raise EngineError(str(error)) from error
    folder = runtime_dir.resolve()  # the child names the files by the resolved folder, and so does the cache key
    for name in ("CommonServerPython.py", "CommonServerUserPython.py"):
        if name in verified:
            codecache.ensure(str(folder / name), verified[name], folder / codecache.CACHE_FOLDER)
    if identity is not None and identity == runtime_identity(runtime_dir):  # unchanged while it was checked
        _CHECKED[str(runtime_dir)] = identity


_CHECKED: dict[str, tuple[tuple[int, ...], ...]] = {}
