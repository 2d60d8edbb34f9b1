"""`python -m xsoar_local.server` (`make server`): a local XSOAR server in the foreground; Ctrl-C stops it."""

import sys

from xsoar_local.server.cli import main

sys.exit(main())
