"""The cluster model: what an ARCUS service code is made of, read from and written to files.

Pure data and validation; no I/O beyond reading the files it is asked to read.
"""

from .cluster import (
    Cluster,
    Host,
    MemcachedNode,
    Node,
    NodeSettings,
    ZooKeeperSettings,
)
from .load import CheckResult, check_cluster_file, load_cluster, parse_cluster
from .problems import ClusterFileError, Problem, Severity

__all__ = [
    "CheckResult",
    "Cluster",
    "ClusterFileError",
    "Host",
    "MemcachedNode",
    "Node",
    "NodeSettings",
    "Problem",
    "Severity",
    "ZooKeeperSettings",
    "check_cluster_file",
    "load_cluster",
    "parse_cluster",
]
