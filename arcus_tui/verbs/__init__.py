"""Headless verbs: each module has `add_parser(subparsers)` and `run(args) -> int`.

They drive the same engine the screens drive; `cli.py` only dispatches.
"""

EXIT_OK = 0
EXIT_FAILED = 1  # the operation ran and something failed (a host, a node, a check)
EXIT_USAGE = 2  # bad arguments or an unusable cluster file
