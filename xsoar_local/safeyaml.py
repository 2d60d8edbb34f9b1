"""YAML from users and packs, loaded with bounded work: a size cap, a cap on what aliases expand to, and depth.

``yaml.safe_load`` builds every alias in full: a few hundred bytes of nested anchors (a "billion laughs")
expand to billions of nodes, minutes and gigabytes. Here the document is first composed into its node
graph (aliases stay shared references, so that is linear in the text), the size it would expand to is
counted once per node, and only a document within the limits is constructed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import yaml
from yaml.composer import Composer
from yaml.resolver import Resolver

from xsoar_local.errors import ContentError

_CParser: Any = getattr(yaml, "CParser", None) or getattr(getattr(yaml, "_yaml", None), "CParser", None)

__all__ = [
    "MAX_EXPANDED_NODES",
    "MAX_YAML_BYTES",
    "YamlLimitError",
    "load_yaml",
    "load_yaml_file",
    "yaml_error_summary",
]

MAX_YAML_BYTES: Final = 5 * 1024 * 1024  # a unified integration with its image is well under 1 MB
MAX_EXPANDED_NODES: Final = 1_000_000  # what a document may expand to once aliases are followed


if _CParser is not None:  # PyYAML was built with libyaml (its wheels are)

    class _Composer(Composer, _CParser, Resolver):  # type: ignore[misc]
        """libyaml's parser (a loop with its own stack, many times faster than PyYAML's Python parser) under
        PyYAML's Python composer: libyaml's composer is recursive C, where a deeply nested document would crash
        the process instead of raising RecursionError."""

        def __init__(self, stream: str) -> None:
            _CParser.__init__(self, stream)
            Composer.__init__(self)
            Resolver.__init__(self)

    _COMPOSER: Any = _Composer
else:
    _COMPOSER = yaml.SafeLoader


class YamlLimitError(ContentError):
    """The YAML is over a limit (size, alias expansion, depth); the message says which and what to do."""


def _expanded_size(root: yaml.Node, source: str) -> int:
    """How many nodes the document would have with every alias expanded (each node's size computed once)."""
    sizes: dict[int, int] = {}
    in_progress: set[int] = set()
    # Iterative post-order walk: deep documents must not hit Python's recursion limit here.
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if key in sizes:
            continue
        children = _children(node)
        if not children_done:
            if key in in_progress:
                raise YamlLimitError(f"{source}: an alias refers to itself (a recursive anchor); remove the loop")
            in_progress.add(key)
            stack.append((node, True))
            stack.extend((child, False) for child in children if id(child) not in sizes)
            continue
        total = 1
        for child in children:
            if id(child) not in sizes:
                raise YamlLimitError(f"{source}: an alias refers to itself (a recursive anchor); remove the loop")
            total += sizes[id(child)]
            if total > MAX_EXPANDED_NODES:
                raise YamlLimitError(
                    f"{source}: its aliases expand to more than {MAX_EXPANDED_NODES:,} values (an alias bomb?); "
                    "write the values out or use fewer nested aliases"
                )
        sizes[key] = total
        in_progress.discard(key)
    return sizes[id(root)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [item for pair in node.value for item in pair]
    return []


def load_yaml(text: str, source: str = "<yaml>") -> Any:
    """Parse one YAML document safely; YamlLimitError over a limit, yaml.YAMLError when it is not YAML."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_YAML_BYTES:
        raise YamlLimitError(f"{source} is {size:,} bytes, over the {MAX_YAML_BYTES:,}-byte limit for YAML files")
    try:
        node = yaml.compose(text, Loader=_COMPOSER)
    except RecursionError:
        raise YamlLimitError(f"{source} is nested too deeply to be a content file") from None
    if node is None:
        return None
    _expanded_size(node, source)
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_document(node)
    except RecursionError:
        raise YamlLimitError(f"{source} is nested too deeply to be a content file") from None
    finally:
        loader.dispose()


def load_yaml_file(path: Path) -> Any:
    """``load_yaml`` of a file, refusing one over the size limit before reading it."""
    size = Path(path).stat().st_size
    if size > MAX_YAML_BYTES:
        raise YamlLimitError(f"{path} is {size:,} bytes, over the {MAX_YAML_BYTES:,}-byte limit for YAML files")
    return load_yaml(Path(path).read_text(encoding="utf-8"), str(path))


def yaml_error_summary(error: yaml.YAMLError) -> str:
    """One line for a YAML syntax error: its line and problem (PyYAML's own message spans several lines)."""
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None)
    text = str(problem) if problem else (str(error).strip().splitlines() or ["not YAML"])[0]
    return f"line {mark.line + 1}: {text}" if mark is not None else text
