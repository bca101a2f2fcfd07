"""docs/cluster-file.md documents every key the schema knows, with the model's
defaults, and its examples are valid cluster files."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from arcus_tui.model import NodeSettings, ZooKeeperSettings, parse_cluster
from arcus_tui.model.cluster import DEFAULT_INSTALL_DIR, DEFAULT_SSH_PORT
from arcus_tui.model.schema import NODE_KEYS, SECTIONS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DOC = Path(__file__).resolve().parents[2] / "docs" / "cluster-file.md"
TEXT = DOC.read_text(encoding="utf-8")
HEADING = {"cluster": "## `[cluster]`", "zookeeper": "## `[zookeeper]`", "memcached": "## `[memcached]`",
           "host": "## `[[host]]`"}


def section(name: str) -> str:
    start = TEXT.index(HEADING[name])
    following = TEXT.find("\n## ", start + 1)
    return TEXT[start:following if following != -1 else len(TEXT)]


def table_rows(text: str) -> dict[str, list[str]]:
    """`key` -> its cells, for every table row whose first cell is a backticked key."""
    rows = {}
    for line in text.splitlines():
        match = re.match(r"^\| `([a-z_]+)` \|(.*)\|\s*$", line)
        if match:
            rows.setdefault(match.group(1), [cell.strip() for cell in match.group(2).split("|")])
    return rows


def test_every_section_has_its_heading():
    assert set(HEADING) == set(SECTIONS)
    for heading in HEADING.values():
        assert heading in TEXT


@pytest.mark.parametrize("section_name, key", [(s, k) for s, keys in SECTIONS.items() for k in keys])
def test_every_key_is_documented_in_its_section(section_name, key):
    assert key in table_rows(section(section_name)), f"[{section_name}] {key} is not in {DOC.name}"


@pytest.mark.parametrize("key", list(NODE_KEYS))
def test_every_memcached_node_key_is_documented_under_host(key):
    assert key in table_rows(section("host").split("A memcached node table")[1])


def test_no_documented_key_is_unknown_to_the_schema():
    known = {key for keys in SECTIONS.values() for key in keys} | set(NODE_KEYS)
    for name in SECTIONS:
        assert set(table_rows(section(name))) <= known


MODEL_DEFAULTS = {
    "cluster": {"ssh_port": DEFAULT_SSH_PORT, "install_dir": DEFAULT_INSTALL_DIR, "bind_address": False},
    "zookeeper": {key: getattr(ZooKeeperSettings(), key) for key in SECTIONS["zookeeper"]},
    "memcached": {key: getattr(NodeSettings(), key) for key in SECTIONS["memcached"]},
    "host": {"zookeeper": False, "memcached": ()},
}


@pytest.mark.parametrize("section_name", list(SECTIONS))
def test_documented_defaults_are_the_models(section_name):
    rows = table_rows(section(section_name).split("A memcached node table")[0])
    for key, expected in MODEL_DEFAULTS[section_name].items():
        default_cell = rows[key][1]
        literal = re.match(r"^`([^`]+)`", default_cell)
        assert literal, f"{key}: default {default_cell!r} is not a literal"
        value = tomllib.loads(f"v = {literal.group(1)}")["v"]
        if isinstance(expected, tuple):
            value = tuple(value)
        assert value == expected, f"[{section_name}] {key}: documented {value!r}, model {expected!r}"


def test_every_complete_toml_example_passes_check():
    blocks = re.findall(r"```toml\n(.*?)```", TEXT, flags=re.S)
    complete = [block for block in blocks if "[cluster]" in block]
    assert len(complete) >= 3
    for block in complete:
        result = parse_cluster(block, "example.toml")
        assert result.errors == [], [p.format("example.toml") for p in result.errors]
