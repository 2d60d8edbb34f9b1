"""`make run`, `make playbook`, `make serve`, `make server`: the Makefile's variables become an `xsoar-local` command
line, untouched.

The Makefile names the pack's parts (``INTEGRATION``, ``PLAYBOOK``, the stand-in ``STANDIN`` that `make serve`
runs on its own); this module knows none of them.

A recipe that splices ``$(TEXT)`` into a shell line loses ``$5`` to make, ``$HOME`` to the shell, runs a
``$(shell ...)`` written in the text, and breaks on quotes. So the Makefile never splices user values:
it exports each one unexpanded (``$(value TEXT)``) as ``MAKEVAR_<NAME>``, and this module builds argv.
``ARGS`` and ``FAULT`` are split into words like a shell would (quotes group words) but nothing in
them is expanded; ``TEXT``, ``CMD`` and ``DETAILS`` are passed whole.

Make strips leading blanks from a ``NAME=value`` given on its command line (so ``TEXT="   "`` reaches
the recipe empty). Where the operating system shows make's own arguments (``/proc``), the value is
taken from there when it is the same value with its leading blanks.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from xsoar_local.errors import UsageError
from xsoar_local.exitstatus import ExitStatus, exit_status

__all__ = ["PREFIX", "argv_for", "main"]

PREFIX = "MAKEVAR_"
TARGETS = ("run", "playbook", "serve", "server")


class MakeVarsError(UsageError):
    """A make variable cannot be turned into arguments (e.g. an unbalanced quote in ARGS)."""


def _make_arguments(pid: int, depth: int = 3) -> list[str]:
    """The command line of the closest make process above ``pid`` ([] when it cannot be seen)."""
    for _ in range(depth):
        try:
            arguments = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[:-1]
            status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return []
        if arguments and Path(os.fsdecode(arguments[0])).name in ("make", "gmake"):
            return [os.fsdecode(argument) for argument in arguments[1:]]
        parent = [line.split()[1] for line in status.splitlines() if line.startswith("PPid:")]
        if not parent or not parent[0].isdigit():
            return []
        pid = int(parent[0])
    return []


def _value(name: str, environ: Mapping[str, str], make_arguments: Sequence[str]) -> str:
    value = environ.get(PREFIX + name, "")
    for argument in make_arguments:
        key, sep, raw = argument.partition("=")
        if sep and key.strip() == name and raw.lstrip() == value:
            value = raw  # make dropped the leading blanks the user typed
    return value


def _words(name: str, value: str) -> list[str]:
    try:
        return shlex.split(value)
    except ValueError as error:
        raise MakeVarsError(
            f"{name}: {error} in {name}={value!r}: close the quote, or quote the value for make"
        ) from None


def argv_for(target: str, environ: Mapping[str, str], make_arguments: Sequence[str] = ()) -> list[str]:
    """The command-line arguments a make target's variables stand for."""

    def value(name: str) -> str:
        return _value(name, environ, make_arguments)

    real = ["--real"] if value("REAL").strip() else []
    args = _words("ARGS", value("ARGS"))
    if target == "serve":
        standin = value("STANDIN").strip()
        # "--": every word of ARGS is the stand-in's own, even one spelt like serve's --stand-in
        return ["serve", *(["--stand-in", standin] if standin else []), "--", *args]
    if target == "server":
        return ["server", *args]
    if target == "playbook":
        playbook = value("PLAYBOOK")
        if not playbook.strip():
            raise MakeVarsError("PLAYBOOK is empty: set PLAYBOOK to a playbook's name, id or YAML path")
        return ["playbook", "--playbook", playbook, "--incident", f"details={value('DETAILS')}", *real, *args]
    command = value("CMD")
    what = ["--command", command] if command.strip() else ["--text", value("TEXT")]
    faults = [item for spec in _words("FAULT", value("FAULT")) for item in ("--fault", spec)]
    integration = value("INTEGRATION")
    return ["run", *(["--integration", integration] if integration else []), *what, *faults, *real, *args]


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m xsoar_local.makevars run|playbook|serve|server``: run that command with the make variables."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if len(arguments) != 1 or arguments[0] not in TARGETS:
        print(f"usage: python -m xsoar_local.makevars {{{','.join(TARGETS)}}}", file=sys.stderr)
        return ExitStatus.USAGE
    target = arguments[0]
    try:
        command = argv_for(target, os.environ, _make_arguments(os.getppid()))
    except MakeVarsError as error:
        print(f"error: {error}", file=sys.stderr)
        return exit_status(error)
    from xsoar_local.cli import main as cli_main

    return cli_main(command)


if __name__ == "__main__":
    sys.exit(main())
