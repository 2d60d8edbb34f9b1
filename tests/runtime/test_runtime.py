"""Tests of the XSOAR runtime fetch: sources in order, digests enforced, nothing half-written."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from xsoar_local import runtime
from xsoar_local.runtime import RUNTIME_FILES, RuntimeFetchError, RuntimeUnavailableError, fetch_runtime

# The runtime that `make setup` installed: genuine files, whatever source they came from.
INSTALLED = Path(runtime.DEFAULT_DESTINATION)


def real_files() -> dict[str, bytes]:
    """The genuine runtime files, read from the installed runtime."""
    files = runtime.read_directory(INSTALLED)
    assert len(files) == len(RUNTIME_FILES), (
        f"{INSTALLED} should hold all runtime files (run make setup), found {sorted(files)}"
    )
    return files


def write_folder(folder: Path, files: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


def test_copies_from_the_configured_folder_first(tmp_path: Path) -> None:
    """
    Given $XSOAR_RUNTIME_DIR pointing at a folder with the genuine files, and a shared folder that is broken
    When the runtime is fetched
    Then the files come from $XSOAR_RUNTIME_DIR and match their pinned digests
    """
    configured = write_folder(tmp_path / "configured", real_files())
    broken_shared = write_folder(tmp_path / "shared", {"CommonServerPython.py": b"not the real one"})
    destination = tmp_path / "dest"

    message = fetch_runtime(destination, environ={"XSOAR_RUNTIME_DIR": str(configured)}, shared=broken_shared)

    assert "copied from" in message, message
    assert str(configured) in message, message
    assert runtime.is_installed(destination), "the destination should hold the verified runtime"


def test_falls_back_to_the_shared_folder(tmp_path: Path) -> None:
    """
    Given no $XSOAR_RUNTIME_DIR and a shared folder with the genuine files
    When the runtime is fetched
    Then it is copied from the shared folder without any download
    """
    shared = write_folder(tmp_path / "shared", real_files())
    destination = tmp_path / "dest"

    def no_download(url: str) -> bytes:
        raise AssertionError(f"nothing should be downloaded, but {url} was requested")

    message = fetch_runtime(destination, environ={}, shared=shared, fetch=no_download)

    assert str(shared) in message, message
    assert runtime.is_installed(destination)


def test_downloads_the_pinned_urls_when_no_folder_exists(tmp_path: Path) -> None:
    """
    Given no local source at all
    When the runtime is fetched
    Then each pinned URL is downloaded once and the empty CommonServerUserPython.py is written locally
    """
    by_url = {f.url: real_files()[f.name] for f in RUNTIME_FILES if f.url}
    requested: list[str] = []

    def fake_download(url: str) -> bytes:
        requested.append(url)
        return by_url[url]

    message = fetch_runtime(tmp_path / "dest", environ={}, shared=tmp_path / "absent", fetch=fake_download)

    assert "downloaded" in message, message
    assert sorted(requested) == sorted(by_url), f"expected one request per pinned URL, got {requested}"
    assert (tmp_path / "dest" / "CommonServerUserPython.py").read_bytes() == b""


@pytest.mark.parametrize(
    ("tampered", "expected_words"),
    [
        pytest.param({"demistomock.py": b"# an imitation\n"}, ["demistomock.py", "does not match"], id="edited-file"),
        pytest.param({"CommonServerPython.py": None}, ["CommonServerPython.py: missing"], id="missing-file"),
    ],
)
def test_refuses_a_source_that_is_not_the_pinned_runtime(
    tmp_path: Path, tampered: dict[str, bytes | None], expected_words: list[str]
) -> None:
    """
    Given a source folder with one file edited or missing, and an existing good runtime at the destination
    When the runtime is fetched
    Then it fails naming the file, and the destination keeps its previous content
    """
    files: dict[str, bytes] = real_files()
    for name, data in tampered.items():
        if data is None:
            del files[name]
        else:
            files[name] = data
    source = write_folder(tmp_path / "source", files)
    destination = tmp_path / "dest"
    write_folder(destination, {"CommonServerPython.py": b"previous content"})

    with pytest.raises(RuntimeFetchError) as raised:
        fetch_runtime(destination, environ={"XSOAR_RUNTIME_DIR": str(source)}, shared=tmp_path / "absent")

    for word in expected_words:
        assert word in str(raised.value), f"{word!r} should be in the error: {raised.value}"
    assert (destination / "CommonServerPython.py").read_bytes() == b"previous content", "destination was changed"
    assert not list(tmp_path.glob(".xsoar-runtime-*")), "a staging folder was left behind"


def test_a_failed_download_says_how_to_work_offline(tmp_path: Path) -> None:
    """
    Given no local source and no network
    When the runtime is fetched
    Then the error (a usage error: the user must say where the runtime is) names XSOAR_RUNTIME_DIR and every
    pinned URL, and nothing is written
    """

    def offline(url: str) -> bytes:
        raise OSError("Network is unreachable")

    with pytest.raises(RuntimeUnavailableError, match="XSOAR_RUNTIME_DIR") as raised:
        fetch_runtime(tmp_path / "dest", environ={}, shared=tmp_path / "absent", fetch=offline)

    for pinned in (item.url for item in RUNTIME_FILES if item.url):
        assert pinned in str(raised.value), f"the error should name {pinned}: {raised.value}"
    assert "\n" not in str(raised.value), "the error is one line"
    assert not (tmp_path / "dest").exists(), "a failed download must not create the destination"


def test_a_configured_folder_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    """
    Given $XSOAR_RUNTIME_DIR pointing nowhere
    When the runtime is fetched
    Then the error says the variable is not a folder instead of silently trying other sources
    """
    with pytest.raises(RuntimeFetchError, match="is not a folder"):
        fetch_runtime(
            tmp_path / "dest", environ={"XSOAR_RUNTIME_DIR": str(tmp_path / "nowhere")}, shared=tmp_path / "absent"
        )


def test_an_installed_runtime_is_not_fetched_again(tmp_path: Path) -> None:
    """
    Given a destination that already holds the verified runtime
    When the runtime is fetched with no source available
    Then it reports the runtime in place without touching any source
    """
    destination = write_folder(tmp_path / "dest", real_files())

    message = fetch_runtime(destination, environ={}, shared=tmp_path / "absent")

    assert "already in place" in message, message


@pytest.mark.parametrize(
    ("environ", "base"),
    [
        pytest.param({"XDG_CACHE_HOME": "/srv/cache"}, Path("/srv/cache"), id="xdg-cache-home"),
        pytest.param({}, Path.home() / ".cache", id="home-cache"),
    ],
)
def test_an_installed_tool_caches_the_runtime_per_user_and_pin_table(environ: dict[str, str], base: Path) -> None:
    """Given an installed tool (no checkout), When its runtime folder is chosen,
    Then it is <cache>/xsoar-local/runtime/<digest of the pin table>: a changed pin never reuses an old cache."""
    folder = runtime.user_cache_dir(environ)
    assert folder == base / "xsoar-local" / "runtime" / runtime.pins_digest(), folder
    changed = (*RUNTIME_FILES[:-1], runtime.RuntimeFile(RUNTIME_FILES[-1].name, "0" * 64, None))
    assert runtime.pins_digest(changed) != runtime.pins_digest(), "the digest must follow the pins"


def test_ensure_fetches_a_missing_file_and_refuses_a_changed_one(tmp_path: Path) -> None:
    """Given a runtime folder missing one file, When the runtime is ensured, Then the file is fetched from
    XSOAR_RUNTIME_DIR; Given then a file changed after set-up, Then it is refused by name, never replaced."""
    source = write_folder(tmp_path / "source", real_files())
    partial = dict(real_files())
    del partial["CommonServer.js"]  # a runtime installed before the JavaScript library was pinned
    destination = write_folder(tmp_path / "dest", partial)

    runtime.ensure_runtime(destination, environ={"XSOAR_RUNTIME_DIR": str(source)}, shared=tmp_path / "absent")

    assert runtime.is_installed(destination), "the missing file should have been fetched"
    (destination / "demistomock.py").write_bytes(b"# changed\n")
    with pytest.raises(runtime.RuntimeTamperedError, match=r"demistomock\.py"):
        runtime.ensure_runtime(destination, environ={"XSOAR_RUNTIME_DIR": str(source)}, shared=tmp_path / "absent")
    assert (destination / "demistomock.py").read_bytes() == b"# changed\n", "a changed file is not silently replaced"


def test_a_host_that_never_answers_is_given_up_at_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Given a download whose name lookup or connection never answers (a DNS server that is down),
    When the runtime file is requested, Then it fails at the connect deadline with a message naming the host,
    instead of waiting as long as the resolver does."""
    released = threading.Event()

    def never_answers(url: str, timeout: float) -> object:
        released.wait(30)
        raise OSError("released")

    monkeypatch.setattr(runtime.urllib.request, "urlopen", never_answers)
    monkeypatch.setattr(runtime, "CONNECT_DEADLINE", 0.2)
    try:
        with pytest.raises(OSError, match=r"no answer from raw\.githubusercontent\.com within 0\.2 s"):
            runtime._http_get(RUNTIME_FILES[0].url or "")
    finally:
        released.set()


@pytest.mark.parametrize(
    "change",
    [
        pytest.param("same-size-same-mtime", id="same-size-and-mtime"),
        pytest.param("replaced", id="replaced-by-rename"),
    ],
)
def test_a_file_changed_after_a_passing_check_is_checked_again(tmp_path: Path, change: str) -> None:
    """Given a runtime folder whose files passed `read_verified` once in this process,
    When CommonServerPython.py is then changed (its size and modification time kept, or replaced by a rename),
    Then the next `read_verified` refuses it: the kept bytes are only reused while no file changed."""
    folder = tmp_path / "runtime"
    folder.mkdir()
    for item in RUNTIME_FILES:
        (folder / item.name).write_bytes((runtime.DEFAULT_DESTINATION / item.name).read_bytes())
    runtime.read_verified(folder)  # passes, and is kept
    target = folder / "CommonServerPython.py"
    genuine = target.read_bytes()
    before = target.stat()
    tampered = genuine[:-1] + (b"#" if genuine[-1:] != b"#" else b" ")
    if change == "replaced":
        (folder / "new").write_bytes(tampered)
        (folder / "new").replace(target)
    else:
        target.write_bytes(tampered)
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
    with pytest.raises(runtime.RuntimeTamperedError, match=r"CommonServerPython\.py does not match"):
        runtime.read_verified(folder)


def test_unchanged_files_give_the_bytes_that_passed(tmp_path: Path) -> None:
    """Given a runtime folder that passed `read_verified`, When it is read again unchanged,
    Then the same verified bytes come back, and changing the returned dict does not change the next answer."""
    folder = tmp_path / "runtime"
    folder.mkdir()
    for item in RUNTIME_FILES:
        (folder / item.name).write_bytes((runtime.DEFAULT_DESTINATION / item.name).read_bytes())
    first = runtime.read_verified(folder)
    first["CommonServerPython.py"] = b"print('not the runtime')"
    second = runtime.read_verified(folder)
    assert second["CommonServerPython.py"] == (folder / "CommonServerPython.py").read_bytes()
    assert {name: runtime.sha256_of(data) for name, data in second.items()} == {
        item.name: item.sha256 for item in RUNTIME_FILES
    }
