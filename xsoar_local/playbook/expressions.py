"""Resolve task argument values (`simple`, `complex`, `${path}`) against an incident view.

The view is what `${...}` sees: the incident context plus the incident fields under `incident`
(`xsoar_local.incident.model.view_for_expressions`). Every path that resolves to nothing is
recorded, so that the work plan can flag an argument that silently came out empty.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from xsoar_local.incident.context import ContextPathError, get_path, longest_existing_prefix, set_path
from xsoar_local.incident.references import REFERENCE, read_reference, resolve_references
from xsoar_local.incident.selector import split_mutator
from xsoar_local.playbook.conditions import ConditionError, evaluate_condition
from xsoar_local.playbook.transformers import TransformerError, apply_transformer, as_list
from xsoar_local.playbook.values import ContentOperators, ExpressionError, is_empty

__all__ = ["REFERENCE", "ContentOperators", "ExpressionError", "Resolver", "is_empty", "nearby_paths"]


@dataclass
class Resolver:
    """Resolves values against one view and remembers the references that came out empty."""

    view: Mapping[str, Any]
    unresolved: list[str] = field(default_factory=list)
    scripts: ContentOperators | None = None  # the content's transformer and filter scripts, when running on content

    def child(self, view: Mapping[str, Any]) -> Resolver:
        """A resolver over another view with the same content operators."""
        return Resolver(view, scripts=self.scripts)

    def lookup(self, path: str) -> Any:
        """The value at a context path; None (and recorded) when nothing is there."""
        try:
            value = read_reference(self.view, path)
        except ContextPathError as error:
            raise ExpressionError(str(error)) from error
        path, mutator = split_mutator(path.strip())
        # a mutator may empty a value on purpose (`${.=[]}` starts a list): only a path that read nothing counts
        if (value is None if mutator is not None else is_empty(value)) and path not in self.unresolved:
            self.unresolved.append(path)
        return value

    def simple(self, raw: Any) -> Any:
        """A `simple` value: a literal, with `${path}` references replaced.

        A string that is exactly one reference takes the referenced value as it is (a list stays
        a list); references inside text are written as text (lists comma-joined).
        """
        return resolve_references(raw, self.lookup)

    def complex(self, raw: Any) -> Any:
        """A `complex` value: `root` plus `accessor`, then the transformers in order."""
        if not isinstance(raw, Mapping) or not raw.get("root"):
            raise ExpressionError(f"a complex value needs a `root`, got {raw!r}")
        root = str(raw["root"]).strip()
        accessor = str(raw.get("accessor") or "").strip()
        # The playbook editor also writes the root as a reference (`root: ${ips}`), or splits one over the root and
        # the accessor (`${` and `.=[]}`, joined by a dot: `${.=[]}`); the server reads the path inside.
        if accessor and not REFERENCE.fullmatch(root) and REFERENCE.fullmatch(f"{root}.{accessor}"):
            root, accessor = f"{root}.{accessor}", ""
        wrapped = REFERENCE.fullmatch(root)
        root = wrapped.group(1).strip() if wrapped else root
        if root == "." and accessor:  # `.` is the whole context: the accessor is the path in it
            path = f".{accessor}" if accessor.startswith("=") else accessor
        else:
            path = f"{root}.{accessor}" if accessor else root
        if raw.get("filters"):
            value = self._filtered(root, raw["filters"], accessor or None, path)
        else:
            value = self.lookup(path)
        for transformer in raw.get("transformers") or []:
            if not isinstance(transformer, Mapping) or not transformer.get("operator"):
                raise ExpressionError(f"a transformer needs an `operator`, got {transformer!r}")
            args = {
                str(name): self.operand(spec)
                for name, spec in (transformer.get("args") or {}).items()
                if isinstance(spec, Mapping)
            }
            operator = str(transformer["operator"])
            try:
                if self.scripts is not None and self.scripts.has(operator, "transformer"):
                    value = self.scripts.transform(operator, value, args)
                    # A script's list result is one entry per item, so an empty list is no result at all
                    # (FirstArrayElement/LastArrayElement on `[]` give a value that is not defined).
                    value = None if value == [] else value
                else:
                    value = apply_transformer(operator, value, args)
            except TransformerError as error:
                raise ExpressionError(str(error)) from error
        return value

    def _filtered(self, root: str, filters: Any, accessor: Any, path: str) -> Any:
        """The root's items for which the filters hold (ANDed groups of ORed checks), then the accessor.

        A filter names the item's fields by their full path (`root: File`, `left: File.Type`), so each item
        is checked in a view where the root holds just that item.
        """
        if not isinstance(filters, list):
            raise ExpressionError(f"`filters` must be a list of lists of checks, got {filters!r}")
        try:
            view = set_path(self.view, root, None)
        except ContextPathError as error:
            raise ExpressionError(f"cannot filter on root {root!r}: {error}") from error
        kept = []
        for item in as_list(self.lookup(root)):
            try:
                if evaluate_condition(filters, self.child(set_path(view, root, item))):
                    kept.append(item)
            except ConditionError as error:
                raise ExpressionError(f"filter: {error}") from error
        value = get_path({"items": kept}, f"items.{accessor}") if accessor else kept
        if is_empty(value) and path not in self.unresolved:
            self.unresolved.append(path)
        return value if kept else None

    def argument(self, raw: Any) -> Any:
        """A `scriptarguments` value: `{simple: ...}`, `{complex: ...}`, or not set (`{}`/None -> None)."""
        if raw is None:
            return None
        if not isinstance(raw, Mapping):
            return self.simple(raw)  # hand-written playbooks sometimes give the literal directly
        if "complex" in raw and raw["complex"] is not None:
            return self.complex(raw["complex"])
        if "simple" in raw:
            return self.simple(raw["simple"])
        if not raw:
            return None
        raise ExpressionError(f"an argument value must be `simple` or `complex`, got keys {sorted(raw)}")

    def operand(self, raw: Mapping[str, Any]) -> Any:
        """A condition side or transformer arg: `{value: {simple|complex}, iscontext}`.

        With `iscontext`, a `simple` value is a context path rather than a literal.
        """
        value = raw.get("value")
        if value is None:
            return None
        if raw.get("iscontext") and isinstance(value, Mapping) and isinstance(value.get("simple"), str):
            text = value["simple"]
            whole = REFERENCE.fullmatch(text.strip())
            return self.lookup(whole.group(1) if whole else text)
        return self.argument(value)


def nearby_paths(view: Mapping[str, Any], path: str, limit: int = 5) -> list[str]:
    """Paths that do hold a value under the longest existing prefix of `path`: the hint for a mistyped path.

    `Vendor.Phrase.Text` on a context holding `Vendor.Item.*` gives the `Vendor.Item.*` leaves.
    Linear in the path and stops after `limit` leaves, however long the path or large the value.
    """
    found = longest_existing_prefix(view, path)
    if found is None:
        return []
    leaves: list[str] = []
    _leaves(found[1], found[0], leaves, limit)
    return leaves


def _leaves(value: Any, prefix: str, found: list[str], limit: int) -> None:
    stack = [(value, prefix)]
    while stack and len(found) < limit:
        item, where = stack.pop()
        if isinstance(item, list):
            stack.extend((element, where) for element in reversed(item))
        elif isinstance(item, Mapping) and item:
            stack.extend((child, f"{where}.{key}") for key, child in reversed(list(item.items())))
        elif where not in found:
            found.append(where)
