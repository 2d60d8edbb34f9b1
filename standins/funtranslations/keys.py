"""The stand-in's API keys from the environment: a key on a command line is visible to every user in `ps`."""

from __future__ import annotations

import os
from collections.abc import Mapping

PAID_KEYS_ENV = "FUNTRANSLATIONS_PAID_KEYS"
KNOWN_KEYS_ENV = "FUNTRANSLATIONS_KNOWN_KEYS"


def keys_from_environment(name: str, environ: Mapping[str, str] | None = None) -> list[str]:
    """The keys in an environment variable, separated by commas or white space."""
    text = (os.environ if environ is None else environ).get(name, "")
    return [key for key in text.replace(",", " ").split() if key]
