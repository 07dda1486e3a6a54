"""Thin wrapper: `python scripts/bench.py [--quick] [--json PATH]` == `mesaopt-bench ...`."""
import sys

from mesaopt.bench.cli import main

sys.exit(main())
