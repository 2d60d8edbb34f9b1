"""`python -m xsoar_local.server ARGS` (kept for scripts that use it): the same as `xsoar-local server ARGS`."""

import sys

from xsoar_local.cli import main

sys.exit(main(["server", *sys.argv[1:]]))
