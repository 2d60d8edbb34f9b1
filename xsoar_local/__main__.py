"""`python -m xsoar_local`: the command line."""

import sys

from xsoar_local.engine.executors.prestart import prestart_for_command_line

prestart_for_command_line(sys.argv[1:])

from xsoar_local.cli import main  # noqa: E402  (after the worker's start, which overlaps this import)

sys.exit(main())
