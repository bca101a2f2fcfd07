"""What every verb does the same way: load the cluster file and report its problems."""

from __future__ import annotations

import sys
from typing import Optional, TextIO

from arcus_tui.model import CheckResult, Cluster, check_cluster_file


def report_problems(result: CheckResult, stream: TextIO = sys.stderr) -> None:
    for problem in result.problems:
        print(problem.format(result.source), file=stream)


def load_or_report(path: str, stream: TextIO = sys.stderr) -> Optional[Cluster]:
    """The cluster, with warnings printed; or None after printing every error."""
    result = check_cluster_file(path)
    report_problems(result, stream)
    return result.cluster if result.ok else None


def add_cluster_argument(parser) -> None:
    parser.add_argument("cluster_file", metavar="FILE", help="cluster file (TOML)")
