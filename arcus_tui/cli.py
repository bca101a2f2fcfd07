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
    "shrink",
    "restart",
    "release",
    "status",
    "capacity",
    "mc",
    "live_config",
    "events",
    "sandbox",
    "package",
)
"""Modules of arcus_tui.verbs, in the order `--help` lists them. Each has
`add_parser(subparsers)`, whose parsers `set_defaults(run=...)`."""


def _verb_parser() -> tuple[argparse.ArgumentParser, list[str]]:
    """The parser of every headless verb, and the verbs' names."""
    parser = argparse.ArgumentParser(prog="arcus-tui", description="Headless verbs of arcus-tui.")
    subparsers = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    for name in VERB_MODULES:
        importlib.import_module(f"arcus_tui.verbs.{name}").add_parser(subparsers)
    return parser, list(subparsers.choices)


def _app_parser(verbs: list[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="arcus-tui",
        description=f"Lay out, deploy and watch an ARCUS cache cloud. Verbs: arcus-tui VERB --help ({', '.join(verbs)}).",
    )
    parser.add_argument("cluster_file", nargs="?", metavar="FILE", help="cluster file (TOML)")
    parser.add_argument("--read-only", action="store_true", help="monitoring only: the engine refuses every write")
    parser.add_argument("--theme", metavar="NAME", help="colour theme")
    parser.add_argument("--ssh-dir", metavar="DIR", help="gateway key, known_hosts and ssh config (default ~/.ssh)")
    parser.add_argument("--keymap", metavar="FILE",
                        help="keys to rebind: binding id = \"key\" (default $XDG_CONFIG_HOME/arcus-tui/keymap.toml)")
    parser.add_argument("--version", action="version", version=f"arcus-tui {__version__}")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    verb_parser, verbs = _verb_parser()
    try:
        if argv and argv[0] in verbs:
            args = verb_parser.parse_args(argv)
            return args.run(args)
        args = _app_parser(verbs).parse_args(argv)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`arcus-tui plan FILE | head`): not our error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    from arcus_tui.ui.app import run_app  # Textual is loaded only for the app, not for verbs

    return run_app(args.cluster_file, read_only=args.read_only, theme=args.theme, ssh_dir=args.ssh_dir,
                   keymap=args.keymap)


if __name__ == "__main__":
    raise SystemExit(main())
