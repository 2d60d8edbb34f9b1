"""The merge applied to the EntryContext that the real CommonServerPython emits (the 'What CSP emits' table)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from xsoar_local.incident import get_path, merge_entry_context

RUNTIME = Path(__file__).resolve().parents[2] / ".xsoar-runtime"

# Runs in a child process: importing CommonServerPython fixes process-wide state (the secrets to
# mask are read once at import), which must not leak into other tests.
CSP_SCRIPT = """
import json, sys
from CommonServerPython import CommandResults, Common

def translate(original, translation):
    return CommandResults(
        outputs_prefix="YodaSpeak.TheForce", outputs_key_field="Original",
        outputs={"Original": original, "Translation": translation},
    ).to_context()["EntryContext"]

def ip(address, vendor, score):
    dbot = Common.DBotScore(indicator=address, indicator_type="ip", integration_name=vendor, score=score)
    return CommandResults(indicator=Common.IP(ip=address, dbot_score=dbot)).to_context()["EntryContext"]

def token(value):
    return CommandResults(
        outputs_prefix="YodaSpeak.NextToken", outputs=value, replace_existing=True
    ).to_context()["EntryContext"]

entries = {
    "translations": [
        translate("Hello there", "There, hello"),
        translate("I am your father", "Your father, I am"),
        translate("Hello there", "Hello there, hmm"),
    ],
    "ips": [ip("1.1.1.1", "VirusTotal", 1), ip("1.1.1.1", "AbuseIPDB", 2), ip("1.1.1.1", "VirusTotal", 3)],
    "tokens": [token("page-2"), token("page-3")],
}
json.dump(entries, sys.stdout)
"""


@pytest.fixture(scope="module")
def csp_entries() -> dict[str, list[dict[str, Any]]]:
    """EntryContexts produced by the pinned CommonServerPython."""
    environment = {**os.environ, "PYTHONPATH": str(RUNTIME)}
    completed = subprocess.run(
        [sys.executable, "-c", CSP_SCRIPT], capture_output=True, text=True, env=environment, timeout=60, check=False
    )
    assert completed.returncode == 0, f"CommonServerPython could not build the entries:\n{completed.stderr}"
    entries: dict[str, list[dict[str, Any]]] = json.loads(completed.stdout)
    return entries


def merge_all(entry_contexts: list[dict[str, Any]]) -> dict[str, Any]:
    context: dict[str, Any] = {}
    for entry_context in entry_contexts:
        context = merge_entry_context(context, entry_context)
    return context


def test_translations_with_a_key_field_update_in_place(csp_entries: dict[str, list[dict[str, Any]]]) -> None:
    """
    Given three CommandResults with outputs_key_field='Original', the third re-translating the first phrase
    When their EntryContexts are merged
    Then two translations remain, the first one updated
    """
    context = merge_all(csp_entries["translations"])
    assert get_path(context, "YodaSpeak.TheForce.Translation") == ["Hello there, hmm", "Your father, I am"], (
        f"unexpected translations {context}"
    )


def test_indicators_keep_one_dbotscore_per_vendor(csp_entries: dict[str, list[dict[str, Any]]]) -> None:
    """
    Given Common.IP results for one address from two vendors, one vendor twice
    When their EntryContexts are merged
    Then IP holds one object (the latest, malicious verdict merged in) and DBotScore one item per vendor
    """
    context = merge_all(csp_entries["ips"])
    assert isinstance(context["IP"], dict), f"one IP object expected, got {context['IP']}"
    assert context["IP"]["Address"] == "1.1.1.1", f"unexpected IP {context['IP']}"
    assert get_path(context, "IP.Malicious.Vendor") == "VirusTotal", f"score 3 should mark it malicious: {context}"
    scores = {item["Vendor"]: item["Score"] for item in context["DBotScore"]}
    assert scores == {"VirusTotal": 3, "AbuseIPDB": 2}, f"unexpected DBotScore items {context['DBotScore']}"


def test_replace_existing_overwrites(csp_entries: dict[str, list[dict[str, Any]]]) -> None:
    """
    Given two CommandResults(replace_existing=True) next-page tokens
    When their EntryContexts are merged
    Then only the latest token remains, as a single value
    """
    context = merge_all(csp_entries["tokens"])
    assert context == {"YodaSpeak": {"NextToken": "page-3"}}, f"the token should be overwritten: {context}"
