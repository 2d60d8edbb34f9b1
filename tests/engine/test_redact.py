"""Which params are secrets, and the forms a secret is masked in."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote_plus

import pytest

from xsoar_local.redact import MASK, Redactor, mask_error, redact_text, secrets_of_params

PASSWORD = "pa ss/w0rd+9"


@pytest.mark.parametrize(
    ("params", "types", "expected"),
    [
        pytest.param(
            {"credentials": {"identifier": "bob", "password": PASSWORD}},
            {"credentials": 9},
            [PASSWORD, base64.b64encode(f"bob:{PASSWORD}".encode()).decode()],
            id="type-9-with-basic-auth",
        ),
        pytest.param({"token_field": "t0ken"}, {"token_field": 4}, ["t0ken"], id="encrypted-type-4"),
        pytest.param({"my_api_key": "k3y"}, {}, ["k3y"], id="sensitive-name"),
        pytest.param(
            {"url": "https://u:p%40ss@host/"},
            {"url": 0},
            ["p%40ss", "p@ss", base64.b64encode(b"u:p@ss").decode()],
            id="url-password-quoted-and-not",
        ),
        pytest.param({"url": "https://host/", "insecure": True}, {"url": 0, "insecure": 8}, [], id="nothing-secret"),
    ],
)
def test_secrets_of_params(params: dict[str, object], types: dict[str, int], expected: list[str]) -> None:
    """Given an instance's params, When its secrets are listed, Then exactly the secret values (and Basic forms)."""
    assert secrets_of_params(params, types) == expected


@pytest.mark.parametrize(
    "shown",
    [
        pytest.param(PASSWORD, id="raw"),
        pytest.param(json.dumps({"p": PASSWORD}), id="json-escaped"),
        pytest.param(f"GET /?p={quote_plus(PASSWORD)}", id="form-quoted"),
        pytest.param(base64.b64encode(PASSWORD.encode()).decode(), id="base64"),
        pytest.param(PASSWORD.encode().hex(), id="hex"),
    ],
)
def test_a_secret_is_masked_in_each_form(shown: str) -> None:
    """Given a known secret shown in one of its forms, When redacted, Then the form is replaced by the mask."""
    redacted = Redactor([PASSWORD]).text(f"before {shown} after")
    assert MASK in redacted, redacted
    assert "w0rd" not in redacted, redacted
    assert redacted.startswith("before "), redacted


def test_url_passwords_are_masked_without_knowing_them() -> None:
    """Given text with scheme://user:password@host URLs, When redact_text runs, Then the passwords are masked."""
    text = "at https://yoda:s3cret@127.0.0.1:1/x and ftp://a:b@h/ but not mailto:x@y or https://host/"
    assert redact_text(text) == (
        f"at https://yoda:{MASK}@127.0.0.1:1/x and ftp://a:{MASK}@h/ but not mailto:x@y or https://host/"
    )


def test_values_are_redacted_deeply_keys_included() -> None:
    """Given a JSON-like value holding the secret in a key and a nested list, When redacted, Then both are masked."""
    assert Redactor(["t0ken"]).value({"t0ken": ["x t0ken", 1, None]}) == {MASK: [f"x {MASK}", 1, None]}


@pytest.mark.parametrize(
    "quoted",
    [
        pytest.param("{secret}", id="as-typed"),
        pytest.param("{encoded}", id="url-encoded"),
    ],
)
def test_an_error_quoting_an_instances_secret_is_masked(quoted: str) -> None:
    """
    Given an instance whose params hold an API key, once a run has redacted with them
    When a toolkit error message quotes the key later (as typed or URL-encoded)
    Then the one masking function of errors hides it, without being told the secret again
    """
    secret = "k3y/With+Odd=Chars-8c1f"
    Redactor.for_params({"apikey": secret}, {"apikey": 4})
    message = "refused: " + quoted.format(secret=secret, encoded=quote_plus(secret))

    masked = mask_error(ValueError(message))

    assert secret not in masked, masked
    assert masked == f"refused: {MASK}", masked


@pytest.mark.parametrize(
    ("text", "password"),
    [
        pytest.param("see 1https://user:hunter22@host/", "hunter22", id="scheme-run-starting-with-a-digit"),
        pytest.param("a+b.c-d://user:hunter22@host", "hunter22", id="scheme-with-plus-dot-dash"),
        pytest.param("(https://user:hunter22@host)", "hunter22", id="scheme-after-punctuation"),
    ],
)
def test_url_passwords_are_masked_wherever_the_scheme_run_starts(text: str, password: str) -> None:
    """Given a URL whose scheme run starts with a digit or follows punctuation,
    When it is redacted,
    Then its password is masked."""
    shown = redact_text(text)
    assert password not in shown, f"the URL password survived: {shown!r}"
    assert MASK in shown


def test_a_long_output_with_no_url_is_masked_in_one_pass() -> None:
    """Given a command output of several megabytes of letters (no URL in it) ending in a URL with a password,
    When it is redacted,
    Then the password is masked and the letters are kept: the scan does not restart from each letter, which made
    a 4 MB War Room output hang the server."""
    letters = "a" * 4_000_000
    shown = redact_text(letters + " https://user:hunter22@host")
    assert shown.startswith(letters)
    assert "hunter22" not in shown, "the URL password at the end of a long output survived"
