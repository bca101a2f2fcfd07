"""The line each key of a TOML document is written on (not a path on disk), so problems can name a line.

`tomllib` gives values but no positions; this scanner reads the text once and
records the line of every table header and `key =` it sees. It only needs to be
right for the layouts people write by hand, and it falls back to the enclosing
table's line (or line 1) when it cannot tell.
"""

from __future__ import annotations

import re
from collections import Counter

Path = tuple  # ("cluster", "user") or ("host", 2, "memcached")

_ARRAY_TABLE = re.compile(r"^\s*\[\[\s*([^\[\]]+?)\s*\]\]")
_TABLE = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]")
_KEY = re.compile(r"""^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*=""")
_STRING = re.compile(r""""(?:\\.|[^"\\])*"|'[^']*'""")


def _split_dotted(name: str) -> tuple[str, ...]:
    parts = re.findall(r""""[^"]*"|'[^']*'|[^.\s]+""", name)
    return tuple(part.strip("\"'") for part in parts)


def _bracket_depth_change(text: str) -> int:
    code = _STRING.sub("", text).split("#", 1)[0]
    return code.count("[") + code.count("{") - code.count("]") - code.count("}")


class KeyLines:
    def __init__(self, text: str):
        self._lines: dict[Path, int] = {}
        self._scan(text)

    def _scan(self, text: str) -> None:
        table: Path = ()
        array_counts: Counter[tuple[str, ...]] = Counter()
        depth = 0
        for number, line in enumerate(text.splitlines(), start=1):
            if depth > 0:  # inside a multi-line array or inline table
                depth += _bracket_depth_change(line)
                continue
            if match := _ARRAY_TABLE.match(line):
                name = _split_dotted(match.group(1))
                table = name + (array_counts[name],)
                array_counts[name] += 1
                self._lines.setdefault(name, number)  # the array as a whole: its first [[name]]
                self._lines.setdefault(table, number)
            elif match := _TABLE.match(line):
                table = _split_dotted(match.group(1))
                self._lines.setdefault(table, number)
            elif match := _KEY.match(line):
                self._lines.setdefault(table + _split_dotted(match.group(1)), number)
                depth = max(0, _bracket_depth_change(line[match.end():]))

    def line(self, *path) -> int:
        """Line of `path`, else of its nearest recorded parent, else 1."""
        for end in range(len(path), 0, -1):
            if path[:end] in self._lines:
                return self._lines[path[:end]]
        return 1
