"""The runtime's compiled-code cache only ever gives the code of the verified bytes it was asked for.

`codecache.compiled(filename, source, folder)` is what the engine calls with the runtime's verified bytes; these
tests plant entries the way an attacker or a torn write would and check the genuine code is what comes back.
"""

from __future__ import annotations

import hashlib
import marshal
import os
from pathlib import Path
from typing import Any

import pytest

from xsoar_local.engine import codecache

GENUINE = b"VALUE = 'genuine'\n"
PLANTED = b"VALUE = 'planted'\n"


def value_of(code: Any) -> str:
    namespace: dict[str, Any] = {}
    exec(code, namespace)  # test code compiled from the constants above
    return str(namespace["VALUE"])


def entry_path(folder: Path, filename: str, source: bytes) -> Path:
    return folder / (codecache.cache_key(filename, source).hex() + ".code")


@pytest.fixture
def runtime(tmp_path: Path) -> tuple[Path, str]:
    """A runtime folder (private, as set-up makes it) and the file name the code reports."""
    folder = tmp_path / "runtime"
    folder.mkdir(mode=0o700)
    return folder / codecache.CACHE_FOLDER, str(folder / "CommonServerPython.py")


def test_a_second_run_loads_the_entry_instead_of_compiling(
    runtime: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given the code compiled once into the cache,
    When it is asked for again with compiling made impossible,
    Then the cached entry gives the genuine code."""
    folder, filename = runtime
    assert value_of(codecache.compiled(filename, GENUINE, folder)) == "genuine"
    assert entry_path(folder, filename, GENUINE).is_file(), "no cache entry was written"

    def no_compiling(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("compiled from source although a valid entry exists")

    monkeypatch.setattr(codecache, "compile", no_compiling, raising=False)
    assert value_of(codecache.compiled(filename, GENUINE, folder)) == "genuine"


def _forge(entry: Path, payload: bytes, keep_digest: bool) -> None:
    """Replace the entry's code; with keep_digest the header still names the old payload's digest."""
    data = entry.read_bytes()
    header = data[: codecache._HEADER_SIZE]
    if not keep_digest:
        header = header[: -codecache._DIGEST_SIZE] + hashlib.sha256(payload).digest()
    entry.write_bytes(header + payload)


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param("payload", id="code replaced, header digest left: the payload check refuses it"),
        pytest.param("truncated", id="entry cut short (a torn write)"),
        pytest.param("other-source", id="a valid entry of other source bytes renamed into place"),
        pytest.param("group-writable-entry", id="entry others can write, even if genuine-looking"),
        pytest.param("group-writable-folder", id="cache folder others can write"),
        pytest.param("symlinked-folder", id="cache folder is a symlink to a folder with a forged entry"),
    ],
)
def test_a_planted_or_broken_entry_is_never_run(runtime: tuple[Path, str], tmp_path: Path, tamper: str) -> None:
    """Given a cache entry for the genuine bytes that was tampered with or sits where others can write,
    When the genuine bytes are asked for,
    Then the genuine code comes back (compiled from the verified source), never the planted one."""
    folder, filename = runtime
    codecache.compiled(filename, GENUINE, folder)
    entry = entry_path(folder, filename, GENUINE)
    planted = marshal.dumps(compile(PLANTED, filename, "exec"))
    if tamper == "payload":
        _forge(entry, planted, keep_digest=True)
    elif tamper == "truncated":
        entry.write_bytes(entry.read_bytes()[:-100])
    elif tamper == "other-source":
        codecache.compiled(filename, PLANTED, folder)
        os.replace(entry_path(folder, filename, PLANTED), entry)
    elif tamper == "group-writable-entry":
        _forge(entry, planted, keep_digest=False)
        entry.chmod(0o620)
    elif tamper == "group-writable-folder":
        _forge(entry, planted, keep_digest=False)
        folder.chmod(0o770)
    elif tamper == "symlinked-folder":
        elsewhere = tmp_path / "elsewhere"
        folder.rename(elsewhere)
        _forge(entry_path(elsewhere, filename, GENUINE), planted, keep_digest=False)
        folder.symlink_to(elsewhere)
    assert value_of(codecache.compiled(filename, GENUINE, folder)) == "genuine", f"{tamper}: the planted code came back"


def test_another_interpreter_or_file_name_never_matches(runtime: tuple[Path, str]) -> None:
    """Given the same bytes under two file names,
    When each is cached,
    Then each has its own entry (the key holds the name the code reports, the source digest and the bytecode
    magic), and the code reports the name it was asked for."""
    folder, filename = runtime
    other = filename.replace("CommonServerPython", "Other")
    first = codecache.compiled(filename, GENUINE, folder)
    second = codecache.compiled(other, GENUINE, folder)
    assert (first.co_filename, second.co_filename) == (filename, other)
    assert entry_path(folder, filename, GENUINE) != entry_path(folder, other, GENUINE)
    assert len(list(folder.glob("*.code"))) == 2


def test_the_engine_writes_the_entry_a_sandboxed_child_only_reads(
    runtime: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given the engine's parent preparing the cache before it starts a child (`ensure`),
    When the child asks for the code with compiling made impossible (as it may read the cache but not write it),
    Then it gets the genuine code from the entry the parent wrote."""
    folder, filename = runtime
    codecache.ensure(filename, GENUINE, folder)
    assert entry_path(folder, filename, GENUINE).is_file(), "the parent wrote no entry"

    def no_compiling(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the child compiled from source although the parent prepared the entry")

    monkeypatch.setattr(codecache, "compile", no_compiling, raising=False)
    assert value_of(codecache.compiled(filename, GENUINE, folder)) == "genuine"


def _derived_entry(folder: Path) -> Path:
    entries = list(folder.glob("*.derived"))
    assert len(entries) == 1, f"expected one derived entry, found {entries}"
    return entries[0]


def _names(value: object) -> bool:
    return isinstance(value, tuple) and all(isinstance(name, str) for name in value)


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param("payload", id="value replaced, header digest left: the payload check refuses it"),
        pytest.param("group-writable-entry", id="entry others can write, even if well-formed"),
        pytest.param("wrong-shape", id="a well-formed entry of the wrong shape (the caller's check refuses it)"),
    ],
)
def test_a_derived_value_is_rebuilt_from_the_source_when_its_entry_was_tampered_with(
    runtime: tuple[Path, str], tamper: str
) -> None:
    """Given a value derived from the verified bytes (what a warm worker imports, kept beside the compiled code),
    When its entry was tampered with and the value is asked for again,
    Then it is built again from the source, never read from the planted entry."""
    folder, filename = runtime
    built: list[str] = []

    def build() -> tuple[str, ...]:
        built.append("built")
        return ("json", "requests")

    assert codecache.derived(filename, GENUINE, folder, "imports 1", build, _names) == ("json", "requests")
    assert codecache.derived(filename, GENUINE, folder, "imports 1", build, _names) == ("json", "requests")
    assert built == ["built"], "a valid entry was built again instead of read"
    entry = _derived_entry(folder)
    if tamper == "payload":
        data = entry.read_bytes()
        entry.write_bytes(data[: codecache._HEADER_SIZE] + marshal.dumps(("os", "planted")))
    elif tamper == "group-writable-entry":
        payload = marshal.dumps(("planted",))
        data = entry.read_bytes()
        header = data[: codecache._HEADER_SIZE - codecache._DIGEST_SIZE] + hashlib.sha256(payload).digest()
        entry.write_bytes(header + payload)
        entry.chmod(0o620)
    else:
        payload = marshal.dumps({"planted": 1})
        data = entry.read_bytes()
        header = data[: codecache._HEADER_SIZE - codecache._DIGEST_SIZE] + hashlib.sha256(payload).digest()
        entry.write_bytes(header + payload)
    value = codecache.derived(filename, GENUINE, folder, "imports 1", build, _names)
    assert value == ("json", "requests"), f"{tamper}: the planted value {value!r} came back"
    assert built == ["built", "built"], f"{tamper}: the value was not built again from the source"


def test_a_derived_value_is_kept_per_source_and_per_derivation(runtime: tuple[Path, str]) -> None:
    """Given two derivations of the same bytes and one of other bytes,
    When each is asked for,
    Then each is built once and none is answered with another's value."""
    folder, filename = runtime
    first = codecache.derived(filename, GENUINE, folder, "statements 1 10,20", lambda: ("a",), _names)
    second = codecache.derived(filename, GENUINE, folder, "statements 1 10", lambda: ("b",), _names)
    other = codecache.derived(filename, PLANTED, folder, "statements 1 10,20", lambda: ("c",), _names)
    assert (first, second, other) == (("a",), ("b",), ("c",))
    assert len(list(folder.glob("*.derived"))) == 3, "each derivation has its own entry"
