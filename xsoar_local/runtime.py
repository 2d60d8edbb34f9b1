"""Fetch the XSOAR runtime modules that a server injects into every integration.

`CommonServerPython.py`, `demistomock.py` and `CommonServerUserPython.py` are not on the
package index. They are copied (or, as a last resort, downloaded from pinned public URLs)
into a git-ignored folder, and every file must match the digest pinned here: a source
that serves anything else is refused, and the destination is only replaced once every
file has been verified, so a failed fetch never leaves a half-written runtime behind.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
import types
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from xsoar_local.errors import EngineError

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DESTINATION = REPO_ROOT / ".xsoar-runtime"
SHARED_SOURCE = REPO_ROOT.parent / "shared" / "xsoar-runtime"
SOURCE_ENV_VAR = "XSOAR_RUNTIME_DIR"

_TEMPLATE = "https://raw.githubusercontent.com/demisto/content-ci-cd-template/3719e347ddbb337b714d68d9822ddb0c87829624/"


@dataclass(frozen=True)
class RuntimeFile:
    """One runtime module: its name, its pinned SHA-256 and where it can be downloaded."""

    name: str
    sha256: str
    url: str | None  # None: the file is empty on a fresh server and is written, not fetched


RUNTIME_FILES: tuple[RuntimeFile, ...] = (
    RuntimeFile(
        "CommonServerPython.py",
        "38af7492cb821589a807dccb85f18be04bfc201b16e0197a8418d6043f38d363",
        _TEMPLATE + "CommonServerPython.py",
    ),
    RuntimeFile(
        "demistomock.py",
        "a4964c9434037fd82ab278fde67e55caa154eab06c7334164b6da51b902e921f",
        _TEMPLATE + "demistomock.py",
    ),
    RuntimeFile(
        "CommonServerUserPython.py",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        None,
    ),
)


class RuntimeFetchError(EngineError):
    """The runtime could not be fetched or did not match its pinned digests."""


def sha256_of(data: bytes) -> str:
    """Return the hex SHA-256 digest of `data`."""
    return hashlib.sha256(data).hexdigest()


def verify(files: Mapping[str, bytes], expected: tuple[RuntimeFile, ...] = RUNTIME_FILES) -> None:
    """Raise RuntimeFetchError naming every file that is missing or has the wrong digest."""
    problems = []
    for runtime_file in expected:
        data = files.get(runtime_file.name)
        if data is None:
            problems.append(f"{runtime_file.name}: missing")
        elif sha256_of(data) != runtime_file.sha256:
            problems.append(
                f"{runtime_file.name}: SHA-256 {sha256_of(data)} does not match the pinned {runtime_file.sha256}"
            )
    if problems:
        raise RuntimeFetchError("; ".join(problems))


def read_directory(source: Path) -> dict[str, bytes]:
    """Read the runtime files present in a local folder (missing ones are left out)."""
    found = {}
    for runtime_file in RUNTIME_FILES:
        path = source / runtime_file.name
        if path.is_file():
            found[runtime_file.name] = path.read_bytes()
    return found


def download(fetch: Callable[[str], bytes] | None = None) -> dict[str, bytes]:
    """Download the runtime files from their pinned URLs (the empty one is made locally)."""
    fetch = fetch or _http_get
    files = {}
    for runtime_file in RUNTIME_FILES:
        files[runtime_file.name] = fetch(runtime_file.url) if runtime_file.url else b""
    return files


def _http_get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as response:
        return bytes(response.read())


def choose_source(environ: Mapping[str, str], shared: Path = SHARED_SOURCE) -> Path | None:
    """Pick the local folder to copy from: $XSOAR_RUNTIME_DIR, else ../shared, else None."""
    configured = environ.get(SOURCE_ENV_VAR)
    if configured:
        path = Path(configured)
        if not path.is_dir():
            raise RuntimeFetchError(
                f"{SOURCE_ENV_VAR}={configured} is not a folder: point it at a folder holding "
                "CommonServerPython.py, demistomock.py and CommonServerUserPython.py, or unset it."
            )
        return path
    return shared if shared.is_dir() else None


def install(files: Mapping[str, bytes], destination: Path) -> None:
    """Write verified files to `destination`, replacing it only once all are in place."""
    verify(files)
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".xsoar-runtime-", dir=destination.parent))
    try:
        for runtime_file in RUNTIME_FILES:
            (staging / runtime_file.name).write_bytes(files[runtime_file.name])
        verify(read_directory(staging))
        if destination.exists():
            shutil.rmtree(destination)
        staging.rename(destination)
    finally:
        if staging.exists():
            shutil.rmtree(staging)


def is_installed(destination: Path = DEFAULT_DESTINATION) -> bool:
    """True when `destination` already holds every runtime file with its pinned digest."""
    try:
        verify(read_directory(destination))
    except RuntimeFetchError:
        return False
    return True


def fetch_runtime(
    destination: Path = DEFAULT_DESTINATION,
    environ: Mapping[str, str] = os.environ,
    shared: Path = SHARED_SOURCE,
    fetch: Callable[[str], bytes] | None = None,
) -> str:
    """Make `destination` hold the verified runtime; return a sentence saying where it came from."""
    if is_installed(destination):
        return f"XSOAR runtime already in place in {destination.name}/ (digests verified)."
    source = choose_source(environ, shared)
    if source is not None:
        files = read_directory(source)
        try:
            install(files, destination)
        except RuntimeFetchError as error:
            raise RuntimeFetchError(
                f"The XSOAR runtime in {source} is not the pinned one ({error}). Restore the "
                f"original files there, or set {SOURCE_ENV_VAR} to a folder that has them."
            ) from error
        return f"XSOAR runtime copied from {source} into {destination.name}/ (digests verified)."
    try:
        files = download(fetch)
    except OSError as error:
        raise RuntimeFetchError(
            f"Could not download the XSOAR runtime ({error}). Without network access, set "
            f"{SOURCE_ENV_VAR} to a folder holding the runtime files, or place them in "
            "../shared/xsoar-runtime beside this repository."
        ) from error
    try:
        install(files, destination)
    except RuntimeFetchError as error:
        raise RuntimeFetchError(
            f"The downloaded XSOAR runtime is not the pinned one ({error}); nothing was written."
        ) from error
    return f"XSOAR runtime downloaded into {destination.name}/ (digests verified)."


class RuntimeTamperedError(RuntimeFetchError):
    """An installed runtime file is missing or differs from its pinned digest: it must not run."""


def read_verified(destination: Path = DEFAULT_DESTINATION) -> dict[str, bytes]:
    """Read every installed runtime file once and check it against its pinned digest.

    Called on every run that loads the runtime (three small files: cheap). The caller executes exactly
    the bytes returned, never the files again and never bytecode cached beside them, so nothing changed
    after the check (or planted in ``__pycache__``) can run.
    """
    files: dict[str, bytes] = {}
    for runtime_file in RUNTIME_FILES:
        path = destination / runtime_file.name
        try:
            data = path.read_bytes()
        except OSError as error:
            raise RuntimeTamperedError(
                f"The XSOAR runtime file {path} cannot be read ({error.strerror or error}): "
                "run `make setup` (or .venv/bin/python -m xsoar_local.runtime) to install it."
            ) from error
        if sha256_of(data) != runtime_file.sha256:
            raise RuntimeTamperedError(
                f"The XSOAR runtime file {path} does not match its pinned SHA-256 (it changed after set-up), "
                "so it was not run: restore it with `make runtime` (or .venv/bin/python -m xsoar_local.runtime)."
            )
        files[runtime_file.name] = data
    return files


def module_from_verified(name: str, data: bytes, path: Path) -> types.ModuleType:
    """Import a runtime module from verified bytes (compiled here; no bytecode file is read or written)."""
    module = types.ModuleType(name)
    module.__file__ = str(path)
    sys.modules[name] = module
    exec(compile(data, str(path), "exec"), module.__dict__)  # the runtime is verified code: running it is the point
    return module


def main() -> int:
    """Command-line entry point: fetch the runtime and report, or explain the failure."""
    try:
        print(fetch_runtime())
    except RuntimeFetchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
