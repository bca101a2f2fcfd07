"""Layout edits on the cluster file's TOML document, keeping its comments and formatting.

The edit functions work on a `tomlkit` document, not on a `Cluster`, so what the
operator wrote (comments, key order, spacing) survives. They only raise
`EditError` when the thing to edit is not there (an unknown host or port); any
value is accepted, and `ClusterDocument.apply` checks the result with
`parse_cluster`, refusing (and undoing) an edit that leaves errors.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from typing import Any, Callable, Optional

import tomlkit
from tomlkit.items import AoT, Array, InlineTable, Table

from .cluster import Cluster
from .load import CheckResult, parse_cluster
from .node_settings import NODE_SETTING_KEYS
from .problems import Problem, Severity



class EditError(Exception):
    """The edit cannot be made: what it names is not in the file, or its result has errors."""

    def __init__(self, message: str, problems: Optional[list[str]] = None):
        self.problems = problems or [message]
        super().__init__(message)


# --- finding things in the document --------------------------------------------------------


def _hosts(doc) -> AoT:
    hosts = doc.get("host")
    if not isinstance(hosts, AoT):
        raise EditError("the file has no [[host]] tables to edit")
    return hosts


def _host_index(doc, name: str) -> int:
    for index, table in enumerate(_hosts(doc)):
        if table.get("name") == name:
            return index
    raise EditError(f"no host named {name!r} in the file")


def _host(doc, name: str) -> Table:
    return _hosts(doc)[_host_index(doc, name)]


def _entry_port(entry: Any) -> Optional[int]:
    if isinstance(entry, dict):
        port = entry.get("port")
    else:
        port = entry
    return int(port) if isinstance(port, int) and not isinstance(port, bool) else None


def _memcached(table: Table) -> Array:
    nodes = table.get("memcached")
    if nodes is None:
        table["memcached"] = tomlkit.array()
        nodes = table["memcached"]
    if not isinstance(nodes, Array):
        raise EditError(f"host {table.get('name')!r}: memcached is not a list")
    return nodes


def _port_index(nodes: Array, port: int, host: str) -> int:
    for index, entry in enumerate(nodes):
        if _entry_port(entry) == port:
            return index
    raise EditError(f"host {host!r} has no memcached port {port}")


def _inline_table(pairs: dict[str, Any]) -> InlineTable:
    """`{ port = 11211, memlimit = 512 }`, spaced the way docs/cluster-file.md writes it."""
    body = ", ".join(f"{key} = {tomlkit.item(value).as_string()}" for key, value in pairs.items())
    return tomlkit.parse(f"x = {{ {body} }}")["x"]


def _set_after(table: Table, key: str, value: Any, after: tuple[str, ...]) -> None:
    """Set `key`; a new key goes right after the last of `after` present (else at the end)."""
    if key in table:
        table[key] = value
        return
    for other in reversed(after):
        if other in table:
            try:
                table.value._insert_after(other, key, value)  # tomlkit keeps no public insert-after
                return
            except Exception:  # pragma: no cover - a tomlkit without it: append instead
                break
    table[key] = value


# --- the edits -----------------------------------------------------------------------------


def add_host(doc, name: str, address: str) -> None:
    """A new `[[host]]` at the end, with no role yet."""
    table = tomlkit.table()
    table["name"] = name
    table["address"] = address
    table["memcached"] = tomlkit.array()
    hosts = doc.get("host")
    if hosts is None:
        doc.append("host", tomlkit.aot())
        hosts = doc["host"]
    elif not isinstance(hosts, AoT):
        raise EditError("hosts must be written as [[host]] tables to be edited")
    if len(hosts):
        last = hosts[-1]
        if not last.as_string().endswith("\n\n"):
            last.add(tomlkit.nl())
    hosts.append(table)


def remove_host(doc, name: str) -> None:
    hosts = _hosts(doc)
    del hosts[_host_index(doc, name)]


def toggle_zookeeper(doc, name: str) -> None:
    """`zookeeper = true` on or off; off removes the line (false is the default)."""
    table = _host(doc, name)
    if table.get("zookeeper") is True:
        del table["zookeeper"]
    else:
        _set_after(table, "zookeeper", True, ("name", "address"))


def add_port(doc, name: str, port: int) -> None:
    table = _host(doc, name)
    _memcached(table).append(port)


def remove_port(doc, name: str, port: int) -> None:
    table = _host(doc, name)
    nodes = _memcached(table)
    del nodes[_port_index(nodes, port, name)]


def set_node_setting(doc, name: str, port: int, key: str, value: Optional[int]) -> None:
    """Override `key` (threads, memlimit, connections) on one node; None drops the override.

    A plain port becomes `{ port = P, key = V }`; a table left with only its port
    becomes a plain port again.
    """
    if key not in NODE_SETTING_KEYS:
        raise EditError(f"{key!r} is not a node setting ({', '.join(NODE_SETTING_KEYS)})")
    table = _host(doc, name)
    nodes = _memcached(table)
    index = _port_index(nodes, port, name)
    entry = nodes[index]
    pairs = dict(entry) if isinstance(entry, dict) else {"port": port}
    pairs = {k: (v.unwrap() if hasattr(v, "unwrap") else v) for k, v in pairs.items()}
    if value is None:
        pairs.pop(key, None)
    else:
        pairs[key] = value
    if set(pairs) == {"port"}:
        nodes[index] = port
    else:
        nodes[index] = _inline_table(pairs)


def set_cluster_setting(doc, section: str, key: str, value: Any) -> None:
    """`[section] key = value`; None removes the key. A missing section is added."""
    if section == "host":
        raise EditError("use the host edits for [[host]] tables")
    table = doc.get(section)
    if table is None:
        if value is None:
            return
        table = tomlkit.table()
        if not tomlkit.dumps(doc).endswith("\n\n"):
            doc.add(tomlkit.nl())
        doc[section] = table
        table = doc[section]
    if value is None:
        if key in table:
            del table[key]
    else:
        table[key] = value


# --- the document behind the grid ----------------------------------------------------------


def _problem_lines(result: CheckResult) -> list[str]:
    return [problem.format(result.source) for problem in result.errors]


class ClusterDocument:
    """A cluster file being edited: its TOML document, last valid `Cluster`, and save()."""

    def __init__(self, path: str | Path, text: str):
        self.path = Path(path)
        self.doc = tomlkit.parse(text)
        self.saved_text = text
        self._text = text  # the document as text, kept with it: rendering 200 hosts takes 20 ms
        result = parse_cluster(text, str(self.path))
        if result.cluster is None:
            raise EditError(f"{self.path} has errors", _problem_lines(result) or
                            [Problem(1, "cannot be read").format(str(self.path))])
        self.cluster: Cluster = result.cluster
        self.warnings = [p.format(str(self.path)) for p in result.problems if p.severity is Severity.WARNING]

    @classmethod
    def load(cls, path: str | Path) -> "ClusterDocument":
        """Raises OSError / UnicodeDecodeError when unreadable, EditError when it has errors."""
        return cls(path, Path(path).read_text(encoding="utf-8"))

    @property
    def text(self) -> str:
        """The document as it would be saved (edits change it only through `apply`)."""
        return self._text

    @property
    def modified(self) -> bool:
        return self.text != self.saved_text

    def apply(self, edit: Callable[..., None], *args: Any) -> Cluster:
        """Run `edit(doc, *args)`; keep it only if the file still has no errors.

        Returns the new `Cluster`; raises `EditError` (carrying `FILE:LINE: message`
        lines) and leaves the document as it was when the edit is refused.
        """
        before = self.text
        try:
            edit(self.doc, *args)
            after = tomlkit.dumps(self.doc)
            result = parse_cluster(after, str(self.path))
        except EditError:
            self.doc = tomlkit.parse(before)
            raise
        except Exception as error:  # tomlkit refusing a value, say
            self.doc = tomlkit.parse(before)
            raise EditError(f"{self.path}: {error}") from error
        if not result.ok:
            self.doc = tomlkit.parse(before)
            lines = _problem_lines(result)
            raise EditError(lines[0] if lines else f"{self.path}: the edit left errors", lines)
        self._text = after
        self.cluster = result.cluster
        self.warnings = [p.format(str(self.path)) for p in result.warnings]
        return self.cluster

    def save(self) -> bool:
        """Write the text atomically (temp file + rename, same mode); False if unchanged."""
        text = self.text
        if text == self.saved_text and self.path.exists():
            return False
        write_atomically(self.path, text)
        self.saved_text = text
        return True


def write_target(path: Path) -> Path:
    """The file a save must replace: a symlinked cluster file is written through to what the
    link points at (so the link stays a link); any other path is itself."""
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def write_atomically(path: Path, text: str) -> None:
    """Temp file beside the real file, fsync, rename over it; through a symlink, its target."""
    path = write_target(path)
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        mode = 0o644
    directory = path.parent if str(path.parent) else Path(".")
    fd, temp = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except FileNotFoundError:
            pass
        raise
