"""`arcus-tui`: open the app on a cluster file, or run a headless verb.

    arcus-tui [FILE] [--read-only] [--theme NAME]
    arcus-tui VERB ...      (check, plan, import-arcus, export-arcus, exec, ...)
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Optional, Sequence

from arcus_tui import __version__

VERB_MODULES = (
    "check",
    "plan",
    "arcus_json",
    "exec",
    "deploy",
    "status",
    "sandbox",
)
"""Modules of arcus_tui.verbs, in the order `--help` lists them. Each has
`add_parser(subparsers)`, whose parsers `set_defaults(run=...)`."""


def _verb_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="arcus-tui", description="Headless verbs of arcus-tui.")
    subparsers = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    for name in VERB_MODULES:
        try:
            module = importlib.import_module(f"arcus_tui.verbs.{name}")
        except ModuleNotFoundError as error:
            if error.name != f"arcus_tui.verbs.{name}":
                raise
            continue  # a verb still being built is simply not offered
        module.add_parser(subparsers)  # each verb's parser sets its own `run` default
    return parser


def _app_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="arcus-tui",
        description="Lay out, deploy and watch an ARCUS cache cloud. Verbs: arcus-tui VERB --help "
        f"({', '.join(_verbs())}).",
    )
    parser.add_argument("cluster_file", nargs="?", metavar="FILE", help="cluster file (TOML)")
    parser.add_argument("--read-only", action="store_true", help="monitoring only: the engine refuses every write")
    parser.add_argument("--theme", metavar="NAME", help="colour theme")
    parser.add_argument("--ssh-dir", metavar="DIR", help="gateway key, known_hosts and ssh config (default ~/.ssh)")
    parser.add_argument("--version", action="version", version=f"arcus-tui {__version__}")
    return parser


def _verbs() -> list[str]:
    parser = _verb_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return list(subparsers.choices)


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and not argv[0].startswith("-") and argv[0] in _verbs():
            args = _verb_parser().parse_args(argv)
            return args.run(args)
        args = _app_parser().parse_args(argv)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`arcus-tui plan FILE | head`): not our error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    from arcus_tui.ui.app import run_app  # Textual is loaded only for the app, not for verbs

    return run_app(args.cluster_file, read_only=args.read_only, theme=args.theme, ssh_dir=args.ssh_dir)


if __name__ == "__main__":
    raise SystemExit(main())
