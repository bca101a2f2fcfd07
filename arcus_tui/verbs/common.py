"""What every verb does the same way: load the cluster file and report its problems."""

from __future__ import annotations

import sys
from typing import Optional, TextIO

from arcus_tui.model import CheckResult, Cluster, check_cluster_file


def report_problems(result: CheckResult, stream: Optional[TextIO] = None) -> None:
    stream = sys.stderr if stream is None else stream  # looked up now: it may have been replaced since import
    for problem in result.problems:
        print(problem.format(result.source), file=stream)


def load_or_report(path: str, stream: Optional[TextIO] = None) -> Optional[Cluster]:
    """The cluster, with warnings printed; or None after printing every error."""
    result = check_cluster_file(path)
    report_problems(result, stream)
    return result.cluster if result.ok else None


def add_cluster_argument(parser) -> None:
    parser.add_argument("cluster_file", metavar="FILE", help="cluster file (TOML)")
