"""What every verb does the same way: load the cluster file and report its problems."""

from __future__ import annotations

import argparse
import sys
from typing import Callable, Optional, TextIO

from arcus_tui.model import CheckResult, Cluster, check_cluster_file


def report_problems(result: CheckResult, stream: Optional[TextIO] = None) -> None:
    stream = sys.stderr if stream is None else stream  # looked up now: it may have been replaced since import
    for problem in result.problems:
        print(problem.format(result.source), file=stream)


def check_with_package(path: str) -> CheckResult:
    """Every problem of the cluster file, and of the package it names on this machine."""
    from arcus_tui.package.inspect import add_package_problems

    return add_package_problems(check_cluster_file(path))


def load_or_report(path: str, stream: Optional[TextIO] = None, *, package: bool = True) -> Optional[Cluster]:
    """The cluster, with warnings printed; or None after printing every error. `package`:
    the package it names is checked too (verbs that only read the file pass False)."""
    result = check_with_package(path) if package else check_cluster_file(path)
    report_problems(result, stream)
    return result.cluster if result.ok else None


def add_cluster_argument(parser) -> None:
    parser.add_argument("cluster_file", metavar="FILE", help="cluster file (TOML)")


def add_key_type_argument(parser) -> None:
    """The type of the gateway key that setup makes when there is none."""
    parser.add_argument("--key-type", choices=("ed25519", "rsa"), default="ed25519")


def positive(convert: Callable[[str], float], what: str, *, limit: float = float("inf")):
    """An argparse type: `convert(text)` when it is above 0 (and below `limit`), else an error
    naming `what` ("a positive number of seconds")."""
    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            value = 0
        if not 0 < value < limit:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}")
        return value
    return parse


positive_seconds = positive(float, "a positive number of seconds")
batch_size = positive(int, "a number of nodes (1 or more)")


def add_batch_option(parser, help: str = "nodes restarted together (default 1)") -> None:
    parser.add_argument("--batch", type=batch_size, default=1, metavar="N", help=help)
