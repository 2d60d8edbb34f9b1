"""Which test playbooks run: found by their content under `Packs/*/TestPlaybooks/`, selected by path, id, name
or glob and by pack, then split into a deterministic shard for a CI matrix."""

from __future__ import annotations

import argparse
import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from xsoar_local.engine.catalog import yaml_kind
from xsoar_local.engine.versions import other_version
from xsoar_local.errors import UsageError
from xsoar_local.playbook.model import is_playbook_yaml
from xsoar_local.safeyaml import YamlLimitError, load_yaml_file


class SelectionError(UsageError):
    """A selection (a name, a glob, a pack, a shard) matches nothing or cannot be read."""


@dataclass(frozen=True, order=True)
class TestPlaybook:
    """A test playbook of a pack. Ordered by pack and path, the order every listing and every shard uses."""

    pack: str
    path: Path
    id: str
    name: str
    # why a server of the toolkit's version does not hold it (its fromversion or toversion), else None: skipped
    other_version: str | None = field(default=None, compare=False)


def discover(packs_root: Path) -> list[TestPlaybook]:
    """Every playbook YAML under Packs/*/TestPlaybooks/ (subfolders too), sorted by pack and path."""
    found: list[TestPlaybook] = []
    for path in sorted(packs_root.glob("*/TestPlaybooks/**/*.yml")):
        try:
            data = load_yaml_file(path)
        except (OSError, UnicodeDecodeError, yaml.YAMLError, YamlLimitError):
            data = {}  # kept, so that running it reports why it cannot load
        # By content: the test-only scripts and integrations kept there (`script-*.yml`) are what playbooks call;
        # a YAML that is none of these is kept, so that running it says why it is not a playbook.
        if not (is_playbook_yaml(data) or yaml_kind(data) is None):
            continue
        data = data if isinstance(data, dict) else {}
        playbook_id = str(data.get("id") or path.stem)
        pack = path.relative_to(packs_root).parts[0]
        name = str(data.get("name") or playbook_id)
        found.append(TestPlaybook(pack, path, playbook_id, name, other_version(data) if data else None))
    return sorted(found)


def _matches(item: TestPlaybook, pattern: str, packs_root: Path) -> bool:
    given = Path(pattern)
    if given.exists():
        return given.resolve() == item.path.resolve() or given.resolve() in item.path.resolve().parents
    relative = item.path.relative_to(packs_root).as_posix()
    candidates = (item.id, item.name, relative, f"Packs/{relative}", item.path.name)
    return any(fnmatch.fnmatchcase(candidate, pattern) for candidate in candidates)


def select(
    found: Sequence[TestPlaybook], packs_root: Path, patterns: Sequence[str] = (), packs: Sequence[str] = ()
) -> list[TestPlaybook]:
    """The playbooks named by `patterns` (a path, a folder, an id or name, or a glob of them) within `packs`.

    Each pattern and each pack must match something: a typo is an error, never an empty, passing run.
    """
    chosen = list(found)
    if packs:
        known = sorted({item.pack for item in found})
        for pack in packs:
            if pack not in known:
                raise SelectionError(
                    f"--pack {pack}: no test playbooks in {packs_root / pack}/TestPlaybooks "
                    f"(packs with test playbooks: {', '.join(known) or 'none'})"
                )
        chosen = [item for item in chosen if item.pack in packs]
    if patterns:
        for pattern in patterns:
            if not any(_matches(item, pattern, packs_root) for item in chosen):
                names = ", ".join(repr(item.id) for item in chosen) or "none"
                raise SelectionError(f"{pattern!r} matches no test playbook (the selectable ones: {names})")
        chosen = [item for item in chosen if any(_matches(item, pattern, packs_root) for pattern in patterns)]
    return chosen


@dataclass(frozen=True)
class Shard:
    """Shard K of N (1-based): every N-th playbook of the sorted selection, starting at the K-th."""

    index: int
    count: int

    def take(self, items: Sequence[TestPlaybook]) -> list[TestPlaybook]:
        """This shard's part of `items` (sorted first, so every machine of a matrix splits the same list alike)."""
        return sorted(items)[self.index - 1 :: self.count]

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(value: str) -> Shard:
    """`K/N` with 1 <= K <= N (an argparse type)."""
    index, _, count = value.partition("/")
    try:
        shard = Shard(int(index), int(count))
    except ValueError:
        shard = Shard(0, 0)
    if not 1 <= shard.index <= shard.count:
        raise argparse.ArgumentTypeError(f"{value!r} is not a shard: give K/N with 1 <= K <= N, e.g. 2/4")
    return shard
