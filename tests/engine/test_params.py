"""Param building: YAML defaults, override layers, coercion by type, unknown and missing params."""

from __future__ import annotations

from typing import Any

import pytest

from xsoar_local.engine.integration import ParamSpec
from xsoar_local.engine.params import (
    ParamError,
    ParamLayer,
    build_params,
    env_file_layers,
    parse_assignments,
    parse_env_file,
    parse_params_json,
)

SPECS = (
    ParamSpec("url", 0, required=True, default_value="https://api.example/", display="Server URL"),
    ParamSpec("apikey", 9, display="API Key"),
    ParamSpec("insecure", 8, default_value="false"),
    ParamSpec("proxy", 8),
    ParamSpec("colours", 16),
    ParamSpec("limit", 0, default_value=50),
)


def test_defaults_make_a_new_instance() -> None:
    """Given only the YAML, When params are built, Then defaults are applied with their code types."""
    params = build_params(SPECS)
    assert params == {"url": "https://api.example/", "insecure": False, "proxy": False, "limit": "50"}, (
        "a new instance should carry the YAML defaultvalues, checkboxes as bools and numbers as strings"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("true", True, id="true"),
        pytest.param("FALSE", False, id="FALSE"),
        pytest.param(True, True, id="json-bool"),
        pytest.param("", False, id="empty"),
        pytest.param("yes", True, id="yes"),
    ],
)
def test_checkbox_becomes_bool(value: Any, expected: bool) -> None:
    """Given a checkbox value, When params are built, Then type 8 arrives as a bool."""
    params = build_params(SPECS, [ParamLayer("--param", {"insecure": value})])
    assert params["insecure"] is expected, f"insecure={value!r} should become {expected}"


def test_checkbox_rejects_nonsense() -> None:
    """Given insecure=maybe, When params are built, Then the error names the param and the source."""
    with pytest.raises(ParamError, match=r"'insecure' \(--param\) is a checkbox"):
        build_params(SPECS, [ParamLayer("--param", {"insecure": "maybe"})])


@pytest.mark.parametrize(
    ("layers", "expected"),
    [
        pytest.param([{"apikey": "s3cret"}], {"identifier": "", "password": "s3cret"}, id="plain-string-wrapped"),
        pytest.param(
            [{"apikey": {"identifier": "me", "password": "pw"}}], {"identifier": "me", "password": "pw"}, id="dict"
        ),
        pytest.param(
            [{"apikey.identifier": "me"}, {"apikey.password": "pw"}],
            {"identifier": "me", "password": "pw"},
            id="dotted-halves-from-two-layers",
        ),
    ],
)
def test_credentials_become_identifier_password(layers: list[dict[str, Any]], expected: dict[str, str]) -> None:
    """Given a credentials value, When params are built, Then type 9 is an {identifier, password} dict."""
    params = build_params(SPECS, [ParamLayer(f"layer{i}", values) for i, values in enumerate(layers)])
    assert params["apikey"] == expected, f"credentials built from {layers} are wrong"


def test_multi_select_becomes_list() -> None:
    """Given a comma-separated multi-select, When params are built, Then type 16 is a list."""
    params = build_params(SPECS, [ParamLayer("--param", {"colours": "red, green"})])
    assert params["colours"] == ["red", "green"], "a multi-select should arrive as a list of values"


def test_later_layers_win() -> None:
    """Given DEMISTO_PARAMS, a file and --param, When params are built, Then the later layer wins."""
    layers = [
        ParamLayer("DEMISTO_PARAMS", {"url": "https://one/", "limit": "1"}),
        ParamLayer("file", {"url": "https://two/"}),
        ParamLayer("--param", {"url": "https://three/"}),
    ]
    params = build_params(SPECS, layers)
    assert (params["url"], params["limit"]) == ("https://three/", "1"), "each layer should override the ones before"


def test_unknown_param_is_an_error_listing_the_known_ones() -> None:
    """Given a typo in a param name, When params are built, Then the error names it, its source and the real ones."""
    with pytest.raises(ParamError, match=r"unknown param 'ulr' in --param \(the integration's params: apikey,"):
        build_params(SPECS, [ParamLayer("--param", {"ulr": "x"})])


@pytest.mark.parametrize(
    "value",
    [pytest.param("", id="empty-string"), pytest.param(None, id="null")],
)
def test_missing_required_param_names_it_and_how_to_set_it(value: Any) -> None:
    """Given a required param emptied, When params are built, Then the error names it and says how to set it."""
    with pytest.raises(ParamError) as caught:
        build_params(SPECS, [ParamLayer("--param", {"url": value})])
    message = str(caught.value)
    assert "'url' (Server URL)" in message, f"the error should name the param: {message}"
    assert "--param url=VALUE" in message, f"the error should say how to set it: {message}"


def test_required_credentials_need_a_value() -> None:
    """Given a required credentials param with no value, When params are built, Then it is reported missing."""
    specs = (ParamSpec("credentials", 9, required=True),)
    with pytest.raises(ParamError, match="missing required param 'credentials'"):
        build_params(specs)


def test_env_file_parsing() -> None:
    """Given an env file with comments, export, quotes and DEMISTO_PARAMS, When parsed, Then both layers apply."""
    text = '# my instance\nexport apikey="k1"\n\nproxy=true\nDEMISTO_PARAMS={"url": "https://env/"}\n'
    values = parse_env_file(text)
    assert values == {"apikey": "k1", "proxy": "true", "DEMISTO_PARAMS": '{"url": "https://env/"}'}, values
    params = build_params(SPECS, env_file_layers(values, ".env"))
    assert params["url"] == "https://env/", "DEMISTO_PARAMS inside the env file should be used"
    assert params["apikey"] == {"identifier": "", "password": "k1"}, "apikey=... should set the password"
    assert params["proxy"] is True, "proxy=true should be a bool"


@pytest.mark.parametrize(
    ("call", "match"),
    [
        pytest.param(lambda: parse_env_file("just words"), "line 1 is not KEY=VALUE", id="env-line"),
        pytest.param(lambda: parse_assignments(["novalue"]), "--param number 1 is not name=value", id="assignment"),
        pytest.param(lambda: parse_params_json("{", "DEMISTO_PARAMS"), "not valid JSON", id="json"),
        pytest.param(lambda: parse_params_json("[1]", "DEMISTO_PARAMS"), "must be a JSON object", id="json-list"),
    ],
)
def test_malformed_sources(call: Any, match: str) -> None:
    """Given a malformed source, When it is parsed, Then a ParamError says what is wrong."""
    with pytest.raises(ParamError, match=match):
        call()
