"""The server version the toolkit plays, and which content items a server of that version holds.

Content keeps an item for older servers beside its newer copy under the same name or id (a script with
`toversion: 6.9.9` and its successor with `fromversion: 7.0.0`; a test playbook for servers before 5.0). A server
only ever holds the copy for its own version, so the toolkit reads an item only when its `fromversion` to
`toversion` range holds `SERVER_VERSION`.

Standard library only: the sandbox child reads `SERVER_VERSION` inside an image's environment.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

SERVER_VERSION = {"version": "8.9.0", "buildNumber": "local"}

_VERSION = re.compile(r"\s*(\d+(?:\.\d+)*)\s*")


def version_key(value: Any) -> tuple[int, ...] | None:
    """`"6.10.0"` as (6, 10), trailing zeros dropped so that 6.1 and 6.1.0 compare equal; None when `value` is not
    a dotted version (a YAML may hold `5.0` as a number: its text is read)."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    match = _VERSION.fullmatch(str(value))
    if match is None:
        return None
    parts = [int(part) for part in match.group(1).split(".")]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def other_version(item: Mapping[str, Any], server: str = SERVER_VERSION["version"]) -> str | None:
    """Why a server of version `server` would not hold this content item (its parsed YAML), else None.

    A version that cannot be read limits nothing: that is for demisto-sdk's validation to report."""
    current = version_key(server)
    if current is None:
        raise ValueError(f"not a server version: {server!r}")
    start, end = version_key(item.get("fromversion")), version_key(item.get("toversion"))
    not_held = f"a server of version {server}, the one the toolkit plays, does not hold it"
    if start is not None and start > current:
        return f"fromversion {item['fromversion']}: {not_held}"
    if end is not None and end < current:
        return f"toversion {item['toversion']}: {not_held}"
    return None
