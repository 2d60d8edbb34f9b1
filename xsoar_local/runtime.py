"""Fetch the XSOAR runtime modules that a server injects into every integration and script.

`CommonServerPython.py`, `demistomock.py`, `CommonServerUserPython.py` and `CommonServer.js` are not on the
package index. They are copied from a local folder (`$XSOAR_RUNTIME_DIR`, or `../shared/xsoar-runtime` beside a
checkout of this repository) or downloaded from pinned public URLs, into a git-ignored folder of the checkout or,
for an installed `xsoar-local`, a per-user cache. Every file must match the digest pinned in `PINS`: a source that
serves anything else is refused, and the destination is only replaced once every file has been verified, so a
failed fetch never leaves a half-written runtime behind.

This module uses the standard library only: the Makefile runs it with the system Python before any slow set-up.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
import threading
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xsoar_local.errors import EngineError, UsageError

REPO_ROOT = Path(__file__).resolve().parent.parent
SOURCE_ENV_VAR = "XSOAR_RUNTIME_DIR"
CACHE_ENV_VAR = "XDG_CACHE_HOME"

_TEMPLATE = "https://raw.githubusercontent.com/demisto/content-ci-cd-template/3719e347ddbb337b714d68d9822ddb0c87829624/"
_CONTENT = "https://raw.githubusercontent.com/demisto/content/e7c9cf21d88ab0eb3e43bc7ef497569d1aa2252f/"
# A host must answer within CONNECT_DEADLINE, so that a machine without network fails well within 5 s; a download
# under way may then pause up to READ_TIMEOUT between reads.
CONNECT_DEADLINE = 3.0
READ_TIMEOUT = 30.0


@dataclass(frozen=True)
class RuntimeFile:
    """One runtime module: its name, its pinned SHA-256 and where it can be downloaded."""

    name: str
    sha256: str
    url: str | None  # None: the file is empty on a fresh server and is written, not fetched


# THE pin table: every runtime file, its digest and its public source. A file added here (the JavaScript engine's
# CommonServer.js is one) is fetched, cached and verified like the others.
PINS: dict[str, RuntimeFile] = {
    "CommonServerPython.py": RuntimeFile(
        "CommonServerPython.py",
        "38af7492cb821589a807dccb85f18be04bfc201b16e0197a8418d6043f38d363",
        _TEMPLATE + "CommonServerPython.py",
    ),
    "demistomock.py": RuntimeFile(
        "demistomock.py",
        "a4964c9434037fd82ab278fde67e55caa154eab06c7334164b6da51b902e921f",
        _TEMPLATE + "demistomock.py",
    ),
    "CommonServerUserPython.py": RuntimeFile(
        "CommonServerUserPython.py",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        None,
    ),
    "CommonServer.js": RuntimeFile(
        "CommonServer.js",
        "5fc02f7e4664de721c22da8f330784d18bb3b14e95429deccc11b3674fc346d3",
        _CONTENT + "Packs/Base/Scripts/CommonServer/CommonServer.js",
    ),
}
RUNTIME_FILES: tuple[RuntimeFile, ...] = tuple(PINS.values())


def pins_digest(files: tuple[RuntimeFile, ...] = RUNTIME_FILES) -> str:
    """A short digest of the pin table: the cache folder's name, so a changed pin never reuses an old cache."""
    table = "".join(f"{item.name}={item.sha256};" for item in files)
    return hashlib.sha256(table.encode()).hexdigest()[:16]


def in_checkout(root: Path = REPO_ROOT) -> bool:
    """True when this module runs from a checkout of the repository (or an editable install), not from a wheel."""
    return (root / "pyproject.toml").is_file() and (root / "xsoar_local").is_dir()


def user_cache_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """The per-user runtime cache: $XDG_CACHE_HOME (else ~/.cache)/xsoar-local/runtime/<pins digest>."""
    base = environ.get(CACHE_ENV_VAR) or str(Path.home() / ".cache")
    return Path(base) / "xsoar-local" / "runtime" / pins_digest()


def default_destination(environ: Mapping[str, str] = os.environ) -> Path:
    """Where the runtime lives: .xsoar-runtime/ in a checkout (pytest and mypy use it), else the user's cache."""
    return REPO_ROOT / ".xsoar-runtime" if in_checkout() else user_cache_dir(environ)


DEFAULT_DESTINATION = default_destination()
# Only a checkout has a `../shared` beside it; an installed package never looks next to site-packages.
SHARED_SOURCE = REPO_ROOT.parent / "shared" / "xsoar-runtime"


class RuntimeFetchError(EngineError):
    """The runtime could not be fetched or did not match its pinned digests."""


class RuntimeUnavailableError(UsageError):
    """No runtime in place, no folder to copy it from and no download: the user must say where it is."""


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
    """One pinned URL. Opening it (name lookup, connection, TLS, headers) has a deadline of its own, as a socket
    timeout does not bound a name lookup: a machine whose DNS server never answers fails as fast as one without a
    network. Reading the body, once the host answered, is bounded by the socket timeout only."""
    opened: list[Any] = []

    def open_url() -> None:
        try:
            opened.append(urllib.request.urlopen(url, timeout=READ_TIMEOUT))
        except BaseException as error:  # re-raised in the caller's thread below
            opened.append(error)

    worker = threading.Thread(target=open_url, name="xsoar-runtime-download", daemon=True)
    worker.start()
    worker.join(CONNECT_DEADLINE)
    if not opened:
        raise OSError(f"no answer from {url.split('/')[2]} within {CONNECT_DEADLINE:g} s")
    if isinstance(opened[0], BaseException):
        raise opened[0]
    with opened[0] as response:
        return bytes(response.read())


def choose_source(environ: Mapping[str, str], shared: Path | None = SHARED_SOURCE) -> Path | None:
    """Pick the local folder to copy from: $XSOAR_RUNTIME_DIR, else ../shared (a checkout only), else None."""
    configured = environ.get(SOURCE_ENV_VAR)
    if configured:
        path = Path(configured)
        if not path.is_dir():
            raise RuntimeFetchError(
                f"{SOURCE_ENV_VAR}={configured} is not a folder: point it at a folder holding "
                f"{', '.join(PINS)}, or unset it."
            )
        return path
    return shared if shared is not None and shared.is_dir() else None


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
        try:
            staging.rename(destination)
        except OSError:
            # Another process (a parallel run, a second terminal) installed the same pinned files first.
            if not is_installed(destination):
                raise
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


def pinned_urls() -> str:
    """The pinned download URLs, space-separated (for one-line messages)."""
    return " ".join(item.url for item in RUNTIME_FILES if item.url)


def fetch_runtime(
    destination: Path = DEFAULT_DESTINATION,
    environ: Mapping[str, str] = os.environ,
    shared: Path | None = SHARED_SOURCE,
    fetch: Callable[[str], bytes] | None = None,
) -> str:
    """Make `destination` hold the verified runtime; return a sentence saying where it came from."""
    if is_installed(destination):
        return f"XSOAR runtime already in place in {destination} (digests verified)."
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
        return f"XSOAR runtime copied from {source} into {destination} (digests verified)."
    try:
        files = download(fetch)
    except OSError as error:
        raise RuntimeUnavailableError(
            f"The XSOAR runtime is not installed and could not be downloaded ({error}): set {SOURCE_ENV_VAR} to a "
            f"folder holding {', '.join(PINS)} (the pinned files from {pinned_urls()})."
        ) from error
    try:
        install(files, destination)
    except RuntimeFetchError as error:
        raise RuntimeFetchError(
            f"The downloaded XSOAR runtime is not the pinned one ({error}); nothing was written."
        ) from error
    return f"XSOAR runtime downloaded into {destination} (digests verified)."


def ensure_runtime(
    destination: Path = DEFAULT_DESTINATION,
    environ: Mapping[str, str] = os.environ,
    shared: Path | None = None,
    fetch: Callable[[str], bytes] | None = None,
) -> Path:
    """The verified runtime folder, fetched first when it is not in place (every command calls this up front).

    Cheap when the runtime is in place (four digests). A file missing is fetched; a file present with another digest
    is refused (RuntimeTamperedError), as every run refuses it. `shared` defaults to ../shared/xsoar-runtime in a
    checkout and to nothing for an installed package.
    """
    present = read_directory(destination)
    if len(present) == len(RUNTIME_FILES):
        read_verified(destination)  # a file changed after set-up is refused, never silently replaced
        return destination
    fetch_runtime(destination, environ, SHARED_SOURCE if shared is None and in_checkout() else shared, fetch)
    return destination


class RuntimeTamperedError(RuntimeFetchError):
    """An installed runtime file is missing or differs from its pinned digest: it must not run."""


def read_verified(
    destination: Path = DEFAULT_DESTINATION, expected: tuple[RuntimeFile, ...] = RUNTIME_FILES
) -> dict[str, bytes]:
    """Read every installed runtime file once and check it against its pinned digest.

    Called on every run that loads the runtime. The caller executes exactly the bytes returned, never the
    files again and never Python's bytecode cache, so nothing changed after the check (or planted in
    ``__pycache__``) can run. (The engine's own cache of their compiled form, `engine/codecache.py`, is found by
    these bytes' digest, not by the files.)

    Bytes that passed are kept in this process with each file's identity (device, inode, size, modification and
    change times): while no file's identity changed, the kept bytes are returned without reading and hashing
    again. Every write, rename or replacement changes a file's change time, so a changed file is always read
    and checked in full; and what is returned is always bytes that matched their pins. A warm worker checks
    once at its start, and each of its forks finds the kept bytes.
    """
    key = (str(destination), tuple(runtime_file.name for runtime_file in expected))
    identity = runtime_identity(destination, expected)
    kept = _VERIFIED.get(key)
    if identity is not None and kept is not None and kept[0] == identity:
        return dict(kept[1])
    files: dict[str, bytes] = {}
    for runtime_file in expected:
        path = destination / runtime_file.name
        try:
            data = path.read_bytes()
        except OSError as error:
            raise RuntimeTamperedError(
                f"The XSOAR runtime file {path} cannot be read ({error.strerror or error}): "
                "run `make setup` in a checkout (elsewhere: python -m xsoar_local.runtime) to install it."
            ) from error
        if sha256_of(data) != runtime_file.sha256:
            _VERIFIED.pop(key, None)
            raise RuntimeTamperedError(
                f"The XSOAR runtime file {path} does not match its pinned SHA-256 (it changed after set-up), "
                "so it was not run: restore it with `make runtime` in a checkout (elsewhere: delete it and run "
                "python -m xsoar_local.runtime)."
            )
        files[runtime_file.name] = data
    if identity is not None and identity == runtime_identity(destination, expected):  # unchanged while it was read
        _VERIFIED[key] = (identity, dict(files))
    return files


_VERIFIED: dict[tuple[str, tuple[str, ...]], tuple[tuple[tuple[int, ...], ...], dict[str, bytes]]] = {}


def runtime_identity(
    destination: Path, expected: tuple[RuntimeFile, ...] = RUNTIME_FILES
) -> tuple[tuple[int, ...], ...] | None:
    """Each file's device, inode, size and times; None when one cannot be read (then it is checked in full)."""
    found = []
    for runtime_file in expected:
        try:
            status = os.stat(destination / runtime_file.name)
        except OSError:
            return None
        found.append((status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns, status.st_ctime_ns))
    return tuple(found)


def read_verified_file(name: str, destination: Path = DEFAULT_DESTINATION) -> bytes:
    """One installed runtime file, checked against its pinned digest (see `read_verified`)."""
    return read_verified(destination, (PINS[name],))[name]


def main() -> int:
    """Command-line entry point: fetch the runtime and report, or explain the failure in one line."""
    try:
        print(fetch_runtime(shared=SHARED_SOURCE if in_checkout() else None))
    except RuntimeFetchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except RuntimeUnavailableError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
