"""Uploaded pack zips: read them safely, check each pack's structure, install them into the state folder.

A zip is either one pack (`pack_metadata.json` at its root, as `demisto-sdk zip-packs` writes it) or several
packs, each a zip of its own inside it. Nothing is installed unless every pack in the upload is sound, and a
pack replaces its previous version with one rename.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any, Final

import yaml

from xsoar_local.engine.catalog import yaml_kind
from xsoar_local.engine.integration import IntegrationError, load_integration
from xsoar_local.errors import ContentError
from xsoar_local.playbook.model import parse_playbook
from xsoar_local.safeyaml import YamlLimitError, load_yaml
from xsoar_local.server.errors import ServerError

MAX_ZIP_BYTES: Final = 50 * 1024 * 1024
MAX_MEMBERS: Final = 5000
MAX_UNPACKED_BYTES: Final = 200 * 1024 * 1024
MAX_NESTING: Final = 1  # an upload may hold pack zips; a zip inside those is a file like any other
MAX_NAME_BYTES: Final = 255  # one path component, as Linux file systems allow
MAX_PATH_BYTES: Final = 1024
UPLOAD_ERROR_ID: Final = "errUploadContentPacks"
UPLOAD_ERROR_TITLE: Final = "Could not upload content packs"
CONTENT_FOLDERS: Final = ("Integrations", "Scripts", "Playbooks", "TestPlaybooks")
_READ_CHUNK: Final = 1024 * 1024


def upload_error(detail: str) -> ServerError:
    """The server's answer to an upload it refuses (HTTP 400)."""
    return ServerError(400, UPLOAD_ERROR_ID, UPLOAD_ERROR_TITLE, detail)


@dataclass(frozen=True)
class PackUpload:
    """One pack read from an upload: its id, metadata and files (relative POSIX path -> bytes)."""

    id: str
    metadata: dict[str, Any]
    files: dict[str, bytes]


@dataclass
class UploadBudget:
    """What one upload may unpack to, as a whole: every zip in it, inner ones too, draws on the same budget.

    The sizes a zip declares are charged before anything is decompressed, and the bytes are counted again as
    they come out, so neither a lying header nor many small zips get past the limits.
    """

    bytes_left: int = MAX_UNPACKED_BYTES
    members_left: int = MAX_MEMBERS

    def charge(self, where: str, members: int, size: int) -> None:
        if members > self.members_left:
            raise upload_error(f"{where}: the upload holds more than {MAX_MEMBERS} files in all (inner zips included)")
        if size > self.bytes_left:
            raise upload_error(
                f"{where}: the upload unpacks to more than {MAX_UNPACKED_BYTES // (1024 * 1024)} MB in all "
                "(inner zips included)"
            )
        self.members_left -= members
        self.bytes_left -= size


def _check_name(name: str, where: str) -> str:
    """The member's path inside the pack, or an upload error for one that cannot be a file there."""
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise upload_error(f"{where} has a member outside the pack folder: {name!r}")
    text = str(path)
    if any(ord(char) < 32 for char in text):
        raise upload_error(f"{where} has a member whose name holds a control character: {name!r}")
    try:
        encoded = [part.encode("utf-8") for part in path.parts]
    except UnicodeEncodeError:
        raise upload_error(f"{where} has a member whose name is not valid UTF-8: {name!r}") from None
    if any(len(part) > MAX_NAME_BYTES for part in encoded) or len(text.encode("utf-8")) > MAX_PATH_BYTES:
        raise upload_error(
            f"{where} has a member whose name is too long (at most {MAX_NAME_BYTES} bytes a folder or file name, "
            f"{MAX_PATH_BYTES} in all): {text[:80]!r}..."
        )
    return text


def _check_layout(names: list[str], where: str) -> None:
    """No name twice, and no name that is a file and a folder at once (`a` and `a/b`)."""
    seen: set[str] = set()
    folders: set[str] = set()
    for name in names:
        if name in seen:
            raise upload_error(f"{where} holds {name!r} more than once")
        seen.add(name)
        folders.update(str(parent) for parent in PurePosixPath(name).parents if str(parent) != ".")
    clash = sorted(seen & folders)
    if clash:
        raise upload_error(f"{where} holds {clash[0]!r} both as a file and as a folder")


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, where: str) -> bytes:
    """The member's bytes, counted as they are decompressed (never more than its declared size)."""
    chunks = []
    read = 0
    with archive.open(info) as member:
        while chunk := member.read(_READ_CHUNK):
            read += len(chunk)
            if read > info.file_size:
                raise upload_error(f"{where}: {info.filename!r} unpacks to more than the size its zip entry gives")
            chunks.append(chunk)
    return b"".join(chunks)


def _open_zip(data: bytes, where: str, budget: UploadBudget) -> dict[str, bytes]:
    """Every file of a zip, its names and declared sizes checked against the budget before any is decompressed."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = [info for info in archive.infolist() if not info.is_dir()]
            names = [_check_name(info.filename, where) for info in infos]
            _check_layout(names, where)
            budget.charge(where, len(infos), sum(info.file_size for info in infos))
            return {name: _read_member(archive, info, where) for name, info in zip(names, infos, strict=True)}
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, NotImplementedError) as error:
        raise upload_error(f"{where} is not a valid zip file ({error}); build it with `make pack`") from error


def _strip_common_folder(files: dict[str, bytes]) -> dict[str, bytes]:
    """`Pack/pack_metadata.json` zipped with its folder: take the folder away."""
    if "pack_metadata.json" in files:
        return files
    tops = {PurePosixPath(name).parts[0] for name in files}
    if len(tops) == 1:
        top = tops.pop()
        if f"{top}/pack_metadata.json" in files:
            return {name[len(top) + 1 :]: content for name, content in files.items()}
    return files


def _load_json(files: dict[str, bytes], name: str, where: str) -> dict[str, Any] | None:
    if name not in files:
        return None
    try:
        value = json.loads(files[name].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise upload_error(f"{where}: {name} is not valid JSON ({error})") from error
    if not isinstance(value, dict):
        raise upload_error(f"{where}: {name} must hold a JSON object")
    return value


def _check_content(files: dict[str, bytes], where: str) -> None:
    """Every integration and playbook YAML must load as one, so a broken pack is refused before install."""
    with tempfile.TemporaryDirectory(prefix="xsoar-pack-check-") as scratch:
        for name, content in files.items():
            parts = PurePosixPath(name).parts
            if len(parts) < 2 or parts[0] not in CONTENT_FOLDERS or not name.endswith((".yml", ".yaml")):
                continue
            if parts[0] == "Integrations":
                if len(parts) == 3 and not parts[2].startswith(parts[1]):
                    continue  # the package layout: only <Name>/<Name>.yml is the integration
                target = Path(scratch) / PurePosixPath(name).name
                target.write_bytes(content)
                if len(parts) == 3:
                    code = files.get(str(PurePosixPath(name).with_suffix(".py")))
                    if code is not None:
                        target.with_suffix(".py").write_bytes(code)
                try:
                    load_integration(target)
                except IntegrationError as error:
                    raise upload_error(f"{where}: {name} is not a usable integration: {error}") from error
            elif parts[0] in ("Playbooks", "TestPlaybooks"):
                try:
                    document = load_yaml(content.decode("utf-8"), name)
                    if yaml_kind(document) in ("script", "integration"):
                        continue  # a test-only script kept beside the test playbooks (`script-*.yml`)
                    parse_playbook(document, Path(name))
                except (UnicodeDecodeError, yaml.YAMLError, ContentError) as error:  # YamlLimitError, PlaybookError
                    raise upload_error(f"{where}: {name} is not a usable playbook: {error}") from error
            else:
                try:  # the installed content is read with the same bounded loader: refuse here what it would skip
                    load_yaml(content.decode("utf-8"), name)
                except (UnicodeDecodeError, YamlLimitError, yaml.YAMLError) as error:
                    raise upload_error(f"{where}: {name} cannot be read as YAML: {error}") from error


def _usable_folder_name(name: str) -> bool:
    """Whether `name` can be a folder of the state's `packs/` and nothing else (no separator, NUL or surrogate)."""
    if not name or name.startswith(".") or "/" in name or "\\" in name:
        return False
    if any(ord(char) < 32 or 0xD800 <= ord(char) <= 0xDFFF for char in name):
        return False
    return len(name.encode("utf-8")) <= MAX_NAME_BYTES


def _pack_from_files(files: dict[str, bytes], where: str, fallback_id: str) -> PackUpload:
    files = _strip_common_folder(files)
    metadata = _load_json(files, "pack_metadata.json", where)
    if metadata is None:
        raise upload_error(
            f"{where} has no pack_metadata.json at its root: upload the zip that `demisto-sdk zip-packs` "
            "(`make pack`) writes"
        )
    extra = _load_json(files, "metadata.json", where) or {}
    if not str(metadata.get("name") or "").strip():
        raise upload_error(f"{where}: pack_metadata.json has no `name`")
    pack_id = str(extra.get("id") or metadata.get("id") or fallback_id or metadata["name"]).strip()
    pack_id = pack_id.replace(" ", "")
    if not _usable_folder_name(pack_id):
        raise upload_error(
            f"{where}: cannot name the pack's folder {pack_id[:80]!r}: give metadata.json an `id` that can be a folder "
            f"name (no `/`, `\\` or control characters, not starting with `.`, at most {MAX_NAME_BYTES} bytes)"
        )
    if not any(PurePosixPath(name).parts[0] in CONTENT_FOLDERS for name in files if "/" in name):
        raise upload_error(f"{where} holds no content: expected {', '.join(CONTENT_FOLDERS)} folders")
    _check_content(files, where)
    return PackUpload(pack_id, {**extra, **metadata, "id": pack_id}, files)


def read_upload(data: bytes, filename: str) -> list[PackUpload]:
    """The packs in an uploaded zip; a ServerError (400, the upload error shape) for anything unsound."""
    where = filename or "the uploaded file"
    if not data:
        raise upload_error(f"{where} is empty: send the pack zip as the multipart field `file`")
    if len(data) > MAX_ZIP_BYTES:
        raise upload_error(f"{where} is larger than {MAX_ZIP_BYTES // (1024 * 1024)} MB")
    budget = UploadBudget()
    files = _open_zip(data, where, budget)
    stem = PurePosixPath(filename or "").stem
    inner = [name for name in files if name.endswith(".zip") and "/" not in name]
    if "pack_metadata.json" not in _strip_common_folder(files) and inner and len(inner) == len(files):
        # MAX_NESTING: these inner zips are opened, anything zipped inside them stays a file
        packs = [
            _pack_from_files(_open_zip(files.pop(name), name, budget), name, PurePosixPath(name).stem) for name in inner
        ]
    else:
        packs = [_pack_from_files(files, where, stem)]
    ids = [pack.id for pack in packs]
    if len(set(ids)) != len(ids):
        raise upload_error(f"{where} holds the same pack more than once: {sorted(ids)}")
    return packs


def install(pack: PackUpload, packs_dir: Path) -> dict[str, Any]:
    """Write the pack's files beside the old version, then swap it in with one rename; returns its metadata."""
    staging = Path(tempfile.mkdtemp(prefix=f".{pack.id}.", dir=packs_dir))
    try:
        for name, content in pack.files.items():
            target = staging / PurePosixPath(name)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        final = packs_dir / pack.id
        old = None
        if final.exists():
            old = packs_dir / f".{pack.id}.old-{os.getpid()}"
            shutil.rmtree(old, ignore_errors=True)
            os.replace(final, old)
        os.replace(staging, final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    now = datetime.now(tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    meta = pack.metadata
    return {
        "id": pack.id,
        "name": str(meta.get("name")),
        "description": str(meta.get("description") or ""),
        "currentVersion": str(meta.get("currentVersion") or "1.0.0"),
        "author": str(meta.get("author") or ""),
        "support": str(meta.get("support") or "community"),
        "categories": list(meta.get("categories") or []),
        "tags": list(meta.get("tags") or []),
        "installed": now,
        "updated": now,
        "contentItems": meta.get("contentItems") or {},
    }
