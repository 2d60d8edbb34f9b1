"""The server's own getEntry and getEntries read the investigation's real War Room: its entries, with their ids."""

from __future__ import annotations

from pathlib import Path

from xsoar_local.server.core import ServerCore


def test_get_entry_and_get_entries_read_the_war_room(tmp_path: Path) -> None:
    """Given an investigation whose War Room holds a printed note, When `!getEntry id=<its id>` and `!getEntries` run,
    Then the note comes back with its contents, and getEntries lists it under its own id."""
    with ServerCore(tmp_path / "state") as core:
        inv_id = core.create_incident({"name": "entries", "createInvestigation": True})["id"]
        (printed,) = core.execute(inv_id, "!Print value=first")
        assert printed["contents"] == "first", printed
        (found,) = core.execute(inv_id, f"!getEntry id={printed['id']}")
        assert (found["type"], found["rawContents"]) == (1, "first"), found
        assert found["brand"] == "Builtin", "getEntry is the server's own command"
        listed = core.execute(inv_id, "!getEntries")
        assert [entry["rawContents"] for entry in listed][:2] == ["first", "first"], listed
        missing = core.execute(inv_id, "!getEntry id=404@nowhere")
        assert missing[0]["type"] == 4, f"an unknown entry id is an error entry: {missing}"
