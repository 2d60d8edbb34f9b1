"""Test playbooks of a content repository, the way content's CI runs them, on one machine.

- `selection`: find test playbooks by content under `Packs/*/TestPlaybooks/`, select by path, name, glob or pack,
  and split a deterministic `--shard K/N`;
- `conf`: `Tests/conf.json` (instances and timeout per test playbook, `skipped_tests`, `skipped_integrations`);
- `run`: each playbook on a fresh incident in its own session, `-j N` in worker processes;
- `junit`: the JUnit XML report; `command`: the `test-playbooks` command that ties them
  together (its flags are defined with the others in `xsoar_local.cli_args`).

Hand-written on the standard library rather than a pytest plugin: see the README's "Test playbooks in CI".
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from xsoar_local.testplaybooks.command import run_test_playbooks

__all__ = ["run_test_playbooks"]


def __getattr__(name: str) -> Any:
    # The command line reads `selection` for its flags on every start; the command itself (and the report and
    # rendering modules it needs) is imported only when test-playbooks runs.
    if name == "run_test_playbooks":
        from xsoar_local.testplaybooks.command import run_test_playbooks

        return run_test_playbooks
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
