"""`python -m xsoar_local`: the command line."""

import sys

from xsoar_local.cli import main

sys.exit(main())
