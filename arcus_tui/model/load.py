"""Cluster file (TOML) -> `Cluster`, collecting every problem with its line."""

from __future__ import annotations

import difflib
import getpass
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

from .cluster import Cluster, Host, MemcachedNode, NodeSettings, ZooKeeperSettings
from .key_lines import KeyLines
from .names import shown
from .problems import ClusterFileError, Problem, Severity
from .schema import HOST_KEYS, NODE_KEYS, SECTIONS, KeySpec
from .validate import validate_cluster


@dataclass
class CheckResult:
    source: str
    cluster: Optional[Cluster]
    problems: list[Problem] = field(default_factory=list)
    key_lines: Optional[KeyLines] = None  # where each key is written, for problems found later

    def line_of(self, *path) -> int:
        """The line a key is written on (1 when unknown), for checks made outside the model."""
        return self.key_lines.line(*path) if self.key_lines is not None else 1

    def add(self, problem: Problem) -> None:
        """A problem found outside the model (e.g. the package on disk); an error makes the file unusable."""
        self.problems.append(problem)
        if problem.severity is Severity.ERROR:
            self.cluster = None

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.WARNING]

    @property
    def ok(self) -> bool:
        return self.cluster is not None and not self.errors


def _suggestion(name: str, known) -> str:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _what(path: tuple) -> str:
    """`[cluster] user` or `host "cache001" memcached` for messages."""
    return " ".join(str(part) for part in path)


class _Reader:
    """Walks the parsed document against the schema, noting problems by line."""

    def __init__(self, text: str):
        self.key_lines = KeyLines(text)
        self.problems: list[Problem] = []

    def problem(self, path: tuple, message: str, severity: Severity = Severity.ERROR) -> None:
        self.problems.append(Problem(self.key_lines.line(*path), message, severity))

    def table(self, raw: Any, specs: dict[str, KeySpec], path: tuple, label: str) -> dict[str, Any]:
        """The valid keys of one table; unknown, mistyped or failing keys become problems."""
        if not isinstance(raw, dict):
            self.problem(path, f"{label} must be a table")
            return {}
        values: dict[str, Any] = {}
        for key, value in raw.items():
            spec = specs.get(key)
            if spec is None:
                self.problem(path + (key,), f"unknown key {key!r} in {label}{_suggestion(key, specs)}")
            elif not spec.accepts(value):
                self.problem(path + (key,), f"{label} {key} must be {spec.type_name}, not {value!r}")
            elif spec.check and (message := spec.check(value)):
                self.problem(path + (key,), f"{label} {key}: {message}")
            else:
                if spec.warn and (message := spec.warn(value)):
                    self.problem(path + (key,), f"{label} {key}: {message}", Severity.WARNING)
                values[key] = value
        for key, spec in specs.items():
            if spec.required and key not in raw:
                self.problem(path, f"{label} is missing {key!r}")
        return values

    def document(self, raw: dict) -> Optional[Cluster]:
        for section in raw:
            if section not in SECTIONS:
                self.problem((section,), f"unknown section [{shown(section)}]{_suggestion(section, SECTIONS)}")
        cluster = self.table(raw.get("cluster", {}), SECTIONS["cluster"], ("cluster",), "[cluster]")
        zookeeper = self.table(raw.get("zookeeper", {}), SECTIONS["zookeeper"], ("zookeeper",), "[zookeeper]")
        defaults = self.table(raw.get("memcached", {}), SECTIONS["memcached"], ("memcached",), "[memcached]")
        hosts_raw = raw.get("host", [])
        if not isinstance(hosts_raw, list):
            self.problem(("host",), "hosts must be written as [[host]] tables")
            hosts_raw = []
        user = cluster.get("user") or current_user()
        common = {key: cluster[key] for key in ("ssh_port", "install_dir", "identity_file") if key in cluster}
        hosts = [self.host(item, index, user, common) for index, item in enumerate(hosts_raw)]
        if "service_code" not in cluster or any(host is None for host in hosts):
            return None
        if "servers" in zookeeper:
            zookeeper["servers"] = tuple(zookeeper["servers"])
        return Cluster(
            hosts=tuple(hosts),
            zookeeper=ZooKeeperSettings(**zookeeper),
            memcached=NodeSettings(**defaults),
            **cluster | {"user": user},
        )

    def host(self, raw: Any, index: int, user: str, common: dict) -> Optional[Host]:
        path = ("host", index)
        label = f"host #{index + 1}"
        if isinstance(raw, dict) and isinstance(raw.get("name"), str):
            label = f"host {raw['name']!r}"
        values = self.table(raw, HOST_KEYS, path, label)
        nodes = self.nodes(values.pop("memcached", []), path + ("memcached",), label)  # its problems too
        if "name" not in values or "address" not in values:
            return None
        settings = common | {"user": user} | values
        return Host(memcached=tuple(nodes), **settings)

    def nodes(self, raw: list, path: tuple, label: str) -> list[MemcachedNode]:
        nodes = []
        for item in raw:
            if isinstance(item, int) and not isinstance(item, bool):
                if message := NODE_KEYS["port"].check(item):
                    self.problem(path, f"{label} memcached: {message}")
                else:
                    nodes.append(MemcachedNode(port=item))
            elif isinstance(item, dict):
                values = self.table(item, NODE_KEYS, path, f"{label} memcached node")
                if "port" in values:
                    nodes.append(MemcachedNode(**values))
            else:
                self.problem(path, f"{label} memcached entries must be ports or {{ port = ... }} tables, not {item!r}")
        return nodes


def current_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in this environment (e.g. a container's unknown uid)
        return "root"


_TOML_LINE = re.compile(r"at line (\d+)")


def _line_of_longest_number(text: str) -> int:
    longest = max(re.finditer(r"[0-9_]+", text), key=lambda match: len(match.group()), default=None)
    return text.count("\n", 0, longest.start()) + 1 if longest else 1


def parse_cluster(text: str, source: str = "<cluster>") -> CheckResult:
    """Every problem of a cluster file's text, and the cluster when it has no errors."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        match = _TOML_LINE.search(str(error))
        if match:
            line = int(match.group(1))
        else:  # "(at end of document)": an array, table or string left open
            line = max(1, len(text.splitlines()))
        message = _TOML_LINE.sub("", str(error)).replace("(, column", "(column").strip()
        return CheckResult(source, None, [Problem(line, f"TOML syntax: {message}")])
    except RecursionError:
        return CheckResult(source, None, [Problem(1, "TOML syntax: arrays or tables nested too deeply")])
    except ValueError:  # not a syntax error: a whole number too long for Python's int()
        return CheckResult(source, None, [Problem(_line_of_longest_number(text), "a number with thousands of digits")])
    reader = _Reader(text)
    cluster = reader.document(raw)
    problems = reader.problems
    if cluster is not None:
        problems += validate_cluster(cluster, reader.key_lines)
    if any(p.severity is Severity.ERROR for p in problems):
        cluster = None
    return CheckResult(source, cluster, problems, reader.key_lines)


def check_cluster_file(path: str | Path) -> CheckResult:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        reason = error.strerror or str(error)
        return CheckResult(str(path), None, [Problem(1, f"cannot read the cluster file: {reason}")])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        return CheckResult(str(path), None, [Problem(line, f"not UTF-8 text: {error.reason} (byte {data[error.start]:#04x})")])
    return parse_cluster(text, str(path))


def load_cluster(path: str | Path) -> Cluster:
    """The cluster of a file; raises `ClusterFileError` listing every problem if it is not usable."""
    result = check_cluster_file(path)
    if not result.ok:
        raise ClusterFileError(result.source, result.problems)
    return result.cluster
