"""Keep an instance's secrets out of everything the toolkit shows or saves.

A server masks secrets in logs only (CommonServerPython's IntegrationLogger, by param name). Locally the
entries, the context, the logs, ``--json`` and the toolkit's own errors are shown in a terminal and saved,
so the engine redacts a run's whole result with the secrets of its instance: encrypted params (types 4
and 14), credentials' passwords (type 9), params whose names CommonServerPython treats as sensitive, and
any password written into a URL (``https://user:password@host``). Each secret is replaced in the forms
it travels in: as typed, JSON-escaped, URL-quoted, and in a Basic-auth header.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final
from urllib.parse import quote, quote_plus, unquote

__all__ = ["MASK", "Redactor", "mask", "mask_error", "redact_text", "secrets_of_params"]

MASK: Final = "<XX_REPLACED>"  # what CommonServerPython writes for a masked string
ENCRYPTED_TYPES: Final = frozenset({4, 14})
CREDENTIALS_TYPE: Final = 9
# CommonServerPython masks a string param whose name contains one of these; the toolkit masks the same.
SENSITIVE_NAME_PARTS: Final = ("key", "private", "password", "secret", "token", "credentials", "service_account")
# Shorter strings would garble every word they occur in; they are no protection to redact anyway.
MIN_SECRET_LENGTH: Final = 3
# scheme://user:password@ ; the password may not contain "@", "/" or whitespace (RFC 3986 userinfo).
# A match starts only where a run of scheme characters starts (the look-behind), so a long run with no "://" is
# scanned once, not once from each of its characters: masking stays linear in the text's length. The head takes the
# whole run, digits first included, so "1https://user:pw@" is masked too.
_URL_USERINFO: Final = re.compile(
    r"(?<![A-Za-z0-9+.-])(?P<head>[A-Za-z0-9+.-]+://(?P<user>[^\s/@:\"'<>]*):)(?P<password>[^\s/@\"'<>]+)@"
)


def url_passwords(text: str) -> list[str]:
    """The passwords written into URLs in ``text``: as written, URL-decoded, and in the Basic-auth header sent."""
    found = []
    for match in _URL_USERINFO.finditer(text):
        password = unquote(match["password"])
        found += [match["password"], password, _basic(unquote(match["user"]), password)]
    return found


def redact_text(text: str) -> str:
    """``text`` with the password of every ``scheme://user:password@`` URL masked (no other secret is known here)."""
    return _URL_USERINFO.sub(lambda match: f"{match['head']}{MASK}@", text)


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)


def secrets_of_params(params: Mapping[str, Any], types: Mapping[str, int] | None = None) -> list[str]:
    """The secrets among an instance's params; ``types`` maps param names to their YAML types when known."""
    found: list[str] = []
    types = types or {}
    for name, value in params.items():
        kind = types.get(name)
        sensitive_name = any(part in name.lower() for part in SENSITIVE_NAME_PARTS)
        if isinstance(value, Mapping):  # a credentials object: {identifier, password, ...}
            password = value.get("password")
            if isinstance(password, str) and password:
                found.append(password)
                identifier = value.get("identifier")
                if isinstance(identifier, str) and identifier:
                    found.append(_basic(identifier, password))
            found += [str(value[k]) for k in ("sshkey", "certificate") if isinstance(value.get(k), str) and value[k]]
        elif isinstance(value, str) and (kind in ENCRYPTED_TYPES or kind == CREDENTIALS_TYPE or sensitive_name):
            found.append(value)
        for text in _strings(value):
            found += url_passwords(text)
    return found


def _basic(identifier: str, password: str) -> str:
    return base64.b64encode(f"{identifier}:{password}".encode()).decode("ascii")


def _forms(secret: str) -> set[str]:
    """The forms a secret takes on its way to a log line or an error message."""
    escaped = json.dumps(secret, ensure_ascii=False)[1:-1]
    ascii_escaped = json.dumps(secret)[1:-1]
    forms = {secret, escaped, ascii_escaped, quote(secret, safe=""), quote_plus(secret), quote(secret)}
    forms.add(base64.b64encode(secret.encode("utf-8", "surrogatepass")).decode("ascii"))
    forms.add(repr(secret)[1:-1])
    forms.add(secret.encode("utf-8", "surrogatepass").hex())
    return {form for form in forms if len(form) >= MIN_SECRET_LENGTH}


class Redactor:
    """Replaces known secrets (in every form) and URL passwords in strings and JSON-like values."""

    def __init__(self, secrets: Iterable[str] = (), *, remember: bool = True) -> None:
        kept = [secret for secret in secrets if isinstance(secret, str) and len(secret) >= MIN_SECRET_LENGTH]
        if remember:
            _remember(kept)
        forms: set[str] = set()
        for secret in kept:
            forms |= _forms(secret)
        # Longest first, so a secret inside a longer one's form does not leave the rest of it behind.
        ordered: Sequence[str] = sorted(forms, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    @classmethod
    def for_params(cls, params: Mapping[str, Any], types: Mapping[str, int] | None = None) -> Redactor:
        """The redactor for one instance's params."""
        return cls(secrets_of_params(params, types))

    def text(self, text: str) -> str:
        """``text`` with every secret masked."""
        if self._pattern is not None:
            text = self._pattern.sub(MASK, text)
        return redact_text(text)

    def value(self, value: Any) -> Any:
        """A copy of a JSON-like value with every string (keys too) redacted."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {self.text(key) if isinstance(key, str) else key: self.value(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.value(item) for item in value]
        return value


# Every secret a Redactor was made for in this process: an error message can quote one (a URL, a param value) long
# after the run that knew it, so the masking of errors knows them all.
_KNOWN: set[str] = set()
_KNOWN_LOCK = threading.Lock()
_known_redactor: Redactor | None = None


def _remember(secrets: Iterable[str]) -> None:
    global _known_redactor
    new = set(secrets)
    with _KNOWN_LOCK:
        if not new <= _KNOWN:
            _KNOWN.update(new)
            _known_redactor = None


def mask(text: str) -> str:
    """``text`` as any entry point may show it: every URL password and every secret this process knows masked.

    The one masking function of the toolkit's own messages (errors on the command line, the server's answers and
    error entries, the page); a run's entries and logs are redacted with their instance's secrets by the engine.
    """
    global _known_redactor
    with _KNOWN_LOCK:
        if _known_redactor is None:
            _known_redactor = Redactor(_KNOWN, remember=False)
        redactor = _known_redactor
    return redactor.text(text)


def mask_error(error: BaseException) -> str:
    """The message of ``error``, masked (see `mask`)."""
    return mask(str(error))
