"""Test playbooks of a content repository, the way content's CI runs them, on one machine.

- `selection`: find test playbooks by content under `Packs/*/TestPlaybooks/`, select by path, name, glob or pack,
  and split a deterministic `--shard K/N`;
- `conf`: `Tests/conf.json` (instances per test playbook, `skipped_tests`, `skipped_integrations`);
- `run`: each playbook on a fresh incident in its own session, `-j N` in worker processes;
- `junit`: the JUnit XML report; `command`: the `test-playbooks` command that ties them
  together (its flags are defined with the others in `xsoar_local.cli_args`).

Hand-written on the standard library rather than a pytest plugin: see the README's "Test playbooks in CI".
"""

from xsoar_local.testplaybooks.command import run_test_playbooks

__all__ = ["run_test_playbooks"]
