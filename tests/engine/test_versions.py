"""Which content items a server of the toolkit's version holds (engine/versions.py), as YAMLs write versions."""

from __future__ import annotations

from typing import Any

import pytest

from xsoar_local.engine.versions import other_version


@pytest.mark.parametrize(
    ("item", "held"),
    [
        pytest.param({}, True, id="no-versions"),
        pytest.param({"fromversion": "6.10.0"}, True, id="from-an-older-version"),
        pytest.param({"fromversion": "8.9.0", "toversion": "8.9.0"}, True, id="both-ends-are-the-version"),
        pytest.param({"fromversion": "8.9"}, True, id="trailing-zero-left-out"),
        pytest.param({"fromversion": 5.0}, True, id="a-yaml-number"),
        pytest.param({"toversion": "99.99.99"}, True, id="to-the-far-future"),
        pytest.param({"fromversion": "8.10.0"}, False, id="minor-ten-is-after-minor-nine"),
        pytest.param({"toversion": "8.8.99"}, False, id="up-to-the-version-before"),
        pytest.param({"fromversion": "next", "toversion": ""}, True, id="unreadable-versions-limit-nothing"),
        pytest.param({"fromversion": True}, True, id="a-boolean-is-no-version"),
    ],
)
def test_an_item_is_held_when_its_version_range_holds_the_server_version(item: dict[str, Any], held: bool) -> None:
    """Given a content item's fromversion and toversion, as YAML gives them (text, a number, or nonsense)
    When checked against server version 8.9.0
    Then it is held exactly when the range holds 8.9.0, compared part by part as numbers"""
    reason = other_version(item, "8.9.0")
    assert (reason is None) is held, f"{item}: {reason!r}"
    if reason is not None:
        assert "a server of version 8.9.0" in reason, reason
        assert reason.split(" ", 1)[0] in item, f"the reason should name the limiting key: {reason}"


def test_a_server_version_that_is_not_a_version_is_refused() -> None:
    """Given a server version that is not dotted numbers, When used, Then it is a ValueError naming it."""
    with pytest.raises(ValueError, match="'eight'"):
        other_version({}, "eight")
