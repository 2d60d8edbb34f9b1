"""The stand-in's API keys from the environment or a file: a key on a command line is visible to every user in
`ps`."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from xsoar_local.errors import UsageError

PAID_KEYS_ENV = "FUNTRANSLATIONS_PAID_KEYS"
KNOWN_KEYS_ENV = "FUNTRANSLATIONS_KNOWN_KEYS"
# Far more than any list of keys; a wrong path (an image, /dev/zero) is refused instead of read whole.
MAX_KEYS_FILE = 1 << 20
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f-\x9f]")  # tab, CR and LF are text
_WANTED = "give a UTF-8 text file with one key a line"


class KeysFileError(UsageError):
    """A keys file that cannot be read, or is not text; the message says what to give instead (never a key)."""


def keys_from_environment(name: str, environ: Mapping[str, str] | None = None) -> list[str]:
    """The keys in an environment variable, separated by commas or white space."""
    text = (os.environ if environ is None else environ).get(name, "")
    return [key for key in text.replace(",", " ").split() if key]


def keys_from_file(path: str) -> list[str]:
    """The keys in a UTF-8 text file, one a line (blank lines and # comments skipped; a BOM is allowed).

    A binary file may well decode (NUL bytes are UTF-8), so control characters are refused too: read as keys they
    would only fail every request later, far from the cause.
    """
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_KEYS_FILE + 1)
    except OSError as error:
        raise KeysFileError(f"cannot read {path}: {error.strerror or error}") from None
    if len(data) > MAX_KEYS_FILE:
        raise KeysFileError(f"{path} is over {MAX_KEYS_FILE // 1024} KiB, too big for a keys file: {_WANTED}")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise KeysFileError(
            f"{path} is not UTF-8 text (byte 0x{data[error.start]:02x} on line {line}; binary, or another encoding): "
            f"{_WANTED}"
        ) from None
    found = _CONTROL.search(text)
    if found is not None:
        line = text.count("\n", 0, found.start()) + 1
        raise KeysFileError(
            f"{path} is not a text file (control character U+{ord(found.group()):04X} on line {line}): {_WANTED}"
        )
    return [line.strip() for line in text.split("\n") if line.strip() and not line.lstrip().startswith("#")]
