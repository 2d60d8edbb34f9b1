"""The benchmark's workload: realistic English sentences, each asked for many times, in a fixed shuffled order."""

from __future__ import annotations

import random

# Fifty distinct sentences of the kind an analyst or a playbook would send (incident notes, everyday phrases).
SENTENCES: tuple[str, ...] = (
    "The prequel movies are more entertaining than the new Disney movies",
    "Master Obiwan has lost a planet.",
    "The firewall blocked three connections from an unknown address last night.",
    "Please reset the password for the finance team before Monday.",
    "We found a phishing email that pretends to come from the payroll department.",
    "The backup server has not reported in since yesterday afternoon.",
    "An analyst should review the suspicious login from a new country.",
    "The malware sample was uploaded to the sandbox for analysis.",
    "Our antivirus quarantined a file on the marketing laptop.",
    "The certificate on the web portal expires in two weeks.",
    "Someone tried to brute force the VPN gateway with common passwords.",
    "The incident was closed after the user confirmed the activity.",
    "You must rotate the API keys every ninety days.",
    "The ticket was escalated to the security operations center.",
    "A new vulnerability affects the version of the library we use.",
    "The patch will be installed during the maintenance window on Sunday.",
    "We need more evidence before we can block the domain.",
    "The user clicked the link but did not enter any credentials.",
    "Logs from the domain controller show repeated failed logons.",
    "The playbook sends a summary to the team channel every morning.",
    "Do not open attachments from senders you do not know.",
    "The cloud storage bucket was accidentally made public.",
    "Our team will investigate the alert and report back within an hour.",
    "The printer on the third floor is sending strange network traffic.",
    "The new intern has access to more systems than they need.",
    "Multi factor authentication stops most account takeover attempts.",
    "The endpoint agent stopped sending heartbeats after the update.",
    "A large amount of data left the network through an unusual port.",
    "The threat intelligence feed marked the address as malicious.",
    "Please document every step you take during the investigation.",
    "The server room door was left open over the weekend.",
    "The attacker used a stolen session cookie to access the mailbox.",
    "We will run a tabletop exercise with the executive team next month.",
    "The script deletes temporary files older than thirty days.",
    "Training helps employees recognise social engineering.",
    "The database contains customer records and must be encrypted.",
    "The help desk received several calls about slow email today.",
    "Our incident response plan was last updated two years ago.",
    "The suspicious process was spawned by a macro in a spreadsheet.",
    "The vendor promised a fix for the bug in the next release.",
    "Network segmentation limits how far an intruder can move.",
    "The audit found shared accounts on several production servers.",
    "A strong password is long, unique and hard to guess.",
    "The alert was a false positive caused by a scheduled scan.",
    "Every laptop must have disk encryption turned on.",
    "The wise analyst reads the logs before drawing conclusions.",
    "Fear is the path to the dark side of incident handling.",
    "The team celebrated after the ransomware attack was contained.",
    "Always verify a request for a wire transfer by phone.",
    "The old mail server will be retired at the end of the year.",
)

REPEATS = 20
SEED = 1977


def workload(repeats: int = REPEATS, seed: int = SEED) -> list[str]:
    """Every sentence `repeats` times (1,000 translations for the 50 sentences), shuffled with a fixed seed."""
    texts = [sentence for sentence in SENTENCES for _ in range(repeats)]
    random.Random(seed).shuffle(texts)
    return texts
