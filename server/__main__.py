"""`python -m server` runs the same command line as `trygg`."""

import sys

from server.cli import main

sys.exit(main())
