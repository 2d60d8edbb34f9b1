"""The sandbox's environment: an allow-list of the caller's, so a secret in the developer's shell never reaches
the integration (CommonServerPython logs `os.environ` unmasked in debug mode)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from xsoar_local.engine import (
    CommandRun,
    ParamLayer,
    build_params,
    check_args,
    command_spec,
    load_integration,
    parse_war_room,
    run_command,
)
from xsoar_local.engine.runner import child_environment
from xsoar_local.incident.model import Incident

FIXTURE = Path(__file__).parent / "fixtures" / "EchoTest"
ECHO = load_integration(FIXTURE)
PARAMS = build_params(ECHO.params, [ParamLayer("test", {"apikey": "echo-param-key"})])
ROOT = Path("/repo")
SECRET_NAME = "MY_SECRET_TOKEN"
SECRET_VALUE = "tok-4b1d-never-in-the-child"

RUNTIME = {
    "PATH": "/usr/bin",
    "HOME": "/home/dev",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "LC_TIME": "en_GB.UTF-8",
    "TZ": "UTC",
    "TMPDIR": "/tmp/dev",
    "SYSTEMROOT": "C:\\Windows",
    "PYTHONHOME": "/opt/python",
}
NETWORK = {
    "HTTP_PROXY": "http://proxy:3128",
    "HTTPS_PROXY": "http://proxy:3128",
    "NO_PROXY": "localhost",
    "http_proxy": "http://proxy:3128",
    "https_proxy": "http://proxy:3128",
    "no_proxy": "localhost",
    "REQUESTS_CA_BUNDLE": "/etc/ssl/ca.pem",
    "CURL_CA_BUNDLE": "/etc/ssl/ca.pem",
    "SSL_CERT_FILE": "/etc/ssl/ca.pem",
    "SSL_CERT_DIR": "/etc/ssl/certs",
    "REQUESTS_TIMEOUT": "7",
    "REQUESTS_TIMEOUT.EchoTest": "3",
}
UNLISTED = {
    SECRET_NAME: SECRET_VALUE,
    "AWS_SECRET_ACCESS_KEY": "aws",
    "FUNTRANSLATIONS_API_KEY": "key",
    "REQUESTS_TIMEOUTS": "not the timeout variable",
    "LCX": "not a locale variable",
    "ALL_PROXY": "socks5://proxy:1080",
}
PARENT = {**RUNTIME, **NETWORK, **UNLISTED}


def without_engine_variables(environment: dict[str, str]) -> dict[str, str]:
    """The environment minus the two variables the engine always sets for its own use."""
    return {name: value for name, value in environment.items() if name not in ("PYTHONPATH", "PYTHONIOENCODING")}


# ---- pure: which variables are selected ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("env", "expected"),
    [
        pytest.param(None, {**RUNTIME, **NETWORK}, id="no-env-runtime-and-network-variables-only"),
        pytest.param({}, RUNTIME, id="empty-env-drops-the-parents-network-variables"),
        pytest.param(
            {"HTTPS_PROXY": "http://test-proxy:8080", "COMMON_SERVER_NO_AUTO_REPLACE_STRS": "1"},
            {**RUNTIME, "HTTPS_PROXY": "http://test-proxy:8080", "COMMON_SERVER_NO_AUTO_REPLACE_STRS": "1"},
            id="env-sets-the-network-and-any-other-variable-on-top",
        ),
        pytest.param({"HOME": "/tmp/home"}, {**RUNTIME, "HOME": "/tmp/home"}, id="env-overrides-a-runtime-variable"),
    ],
)
def test_the_child_gets_only_allow_listed_variables_and_env(
    env: dict[str, str] | None, expected: dict[str, str]
) -> None:
    """Given a parent environment with runtime, network and unlisted variables (a secret token among them),
    When the child's environment is chosen with or without an explicit env,
    Then it holds the runtime variables, the network ones from env if given (else from the parent), and env."""
    child = without_engine_variables(child_environment(PARENT, env, ROOT))
    assert child == expected, (
        f"unexpected variables {sorted(child.keys() - expected.keys())}, "
        f"missing {sorted(expected.keys() - child.keys())}, changed "
        f"{sorted(name for name in child.keys() & expected.keys() if child[name] != expected[name])}"
    )


@pytest.mark.parametrize(
    ("parent", "env", "expected"),
    [
        pytest.param({}, None, str(ROOT), id="no-pythonpath-the-repository-alone"),
        pytest.param(
            {"PYTHONPATH": "/extra"}, None, os.pathsep.join([str(ROOT), "/extra"]), id="parents-pythonpath-kept"
        ),
        pytest.param(
            {"PYTHONPATH": "/extra"},
            {"PYTHONPATH": "/from-env"},
            os.pathsep.join([str(ROOT), "/from-env"]),
            id="envs-pythonpath-wins",
        ),
    ],
)
def test_the_repository_comes_first_on_pythonpath(
    parent: dict[str, str], env: dict[str, str] | None, expected: str
) -> None:
    """Given a PYTHONPATH in the parent or env (or none),
    When the child's environment is chosen,
    Then the repository root comes first, so the sandbox can import xsoar_local from any working folder."""
    child = child_environment(parent, env, ROOT)
    assert child["PYTHONPATH"] == expected, f"PYTHONPATH should be {expected!r}, got {child['PYTHONPATH']!r}"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        pytest.param(None, "utf-8", id="default-utf-8"),
        pytest.param({"PYTHONIOENCODING": "latin-1"}, "latin-1", id="env-chooses"),
    ],
)
def test_the_childs_io_encoding(env: dict[str, str] | None, expected: str) -> None:
    """Given env with or without PYTHONIOENCODING, When the child's environment is chosen,
    Then the child writes UTF-8 unless env says otherwise."""
    child = child_environment({}, env, ROOT)
    assert child["PYTHONIOENCODING"] == expected, f"PYTHONIOENCODING should be {expected!r}: {child}"


# ---- subprocess: what the integration sees -------------------------------------------------------------
@pytest.fixture
def developer_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process's environment holds a secret token, a proxy and a request timeout, as a developer's might."""
    monkeypatch.setenv(SECRET_NAME, SECRET_VALUE)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    monkeypatch.setenv("REQUESTS_TIMEOUT", "11")


def run(line: str) -> CommandRun:
    parsed = parse_war_room(line)
    args = check_args(command_spec(ECHO, parsed.name), parsed.args, parsed.positional)
    return run_command(ECHO, parsed.name, args, PARAMS, Incident())


@pytest.mark.usefixtures("developer_shell")
def test_the_integration_does_not_see_the_callers_secret_but_sees_the_network_settings() -> None:
    """Given MY_SECRET_TOKEN, HTTPS_PROXY and REQUESTS_TIMEOUT in the caller's environment and no env argument,
    When the integration reports its os.environ,
    Then the token is absent while the proxy and the timeout are passed through unchanged."""
    result = run("!echo-env")
    assert not result.is_error, f"echo-env should succeed: {result.entries}"
    seen = json.loads(result.entries[0]["Contents"])
    assert SECRET_NAME not in seen, f"{SECRET_NAME} leaked into the integration's environment"
    assert SECRET_VALUE not in json.dumps(seen), "the token's value leaked under another name"
    passed = {name: seen.get(name) for name in ("HTTPS_PROXY", "REQUESTS_TIMEOUT")}
    assert passed == {"HTTPS_PROXY": "http://proxy.invalid:3128", "REQUESTS_TIMEOUT": "11"}, (
        f"the proxy and the timeout should reach the integration as set: {passed}"
    )


@pytest.mark.usefixtures("developer_shell")
def test_debug_modes_environment_log_does_not_hold_the_callers_secret() -> None:
    """Given MY_SECRET_TOKEN in the caller's environment,
    When a command runs with debug-mode=true (CommonServerPython logs `#### Env environ({...})`, unmasked),
    Then that log line is written, lists the proxy, and holds neither the token's name nor its value."""
    result = run("!test-module debug-mode=true")
    env_lines = [log.message for log in result.logs if "#### Env" in log.message]
    assert env_lines, f"debug mode should log the environment; logs were {[log.message for log in result.logs]}"
    assert "HTTPS_PROXY" in env_lines[0], f"the logged environment should list the proxy: {env_lines[0]}"
    everything = json.dumps([log.to_json() for log in result.logs] + result.entries)
    for leaked in (SECRET_NAME, SECRET_VALUE):
        assert leaked not in everything, f"{leaked!r} from the caller's environment reached the run's logs"


def test_an_installed_package_puts_itself_on_pythonpath_not_its_site_packages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given xsoar_local installed in a site-packages folder (no checkout around it) beside another library
    When the child's environment is chosen for it and a Python starts with that environment
    Then the child imports that xsoar_local, but not the other library: the packages of the child's own
    environment (an image's) must not be hidden behind the toolkit's site-packages"""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    site = tmp_path / "venv" / "lib" / "site-packages"
    (site / "xsoar_local").mkdir(parents=True)
    (site / "xsoar_local" / "__init__.py").write_text("", encoding="utf-8")
    (site / "vendored_lib").mkdir()
    (site / "vendored_lib" / "__init__.py").write_text("", encoding="utf-8")
    env = child_environment({"PATH": os.environ.get("PATH", "")}, {}, site)
    look = (
        "import importlib.util, json, xsoar_local\n"
        "print(json.dumps([xsoar_local.__file__, bool(importlib.util.find_spec('vendored_lib'))]))"
    )

    completed = subprocess.run(
        [sys.executable, "-c", look], cwd=tmp_path, env=env, capture_output=True, text=True, check=False
    )

    assert completed.returncode == 0, completed.stderr
    package, other_library = json.loads(completed.stdout)
    assert Path(package).resolve() == (site / "xsoar_local" / "__init__.py").resolve(), f"imported {package}"
    assert not other_library, f"the toolkit's site-packages is on the child's path: PYTHONPATH={env['PYTHONPATH']}"
