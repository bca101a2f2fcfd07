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


# -- citations: every `docs/<file>.md#<section>` in the code names a file and a heading that exist --

ROOT = DOC.parents[1]
DOCS = ROOT / "docs"
CITATION = re.compile(r"\bdocs/([\w.-]+\.md)(?:#([\w-]+))?")
DOC_LINK = re.compile(r"\]\(([\w.-]+\.md)?(?:#([\w-]+))?\)")
CITING = ("arcus_tui", "tests", "bench")


def anchors(markdown: str) -> set[str]:
    """The anchors GitHub gives the headings of a Markdown text: lower case, punctuation dropped
    (letters, digits, `_`, `-` and spaces kept), spaces as `-`; a repeated one gets `-1`, `-2`..."""
    found: set[str] = set()
    fenced = False
    for line in markdown.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        heading = re.match(r"^#{1,6} +(.*?) *#* *$", line)
        if fenced or not heading:
            continue
        anchor = re.sub(r"[^\w\- ]", "", heading.group(1).lower()).replace(" ", "-")
        unique, count = anchor, 0
        while unique in found:
            count += 1
            unique = f"{anchor}-{count}"
        found.add(unique)
    return found


def test_anchors_follow_githubs_rule():
    assert anchors("# A `[zookeeper]` (b.c)\n```\n# not a heading\n```\n## A `[zookeeper]` (b.c)\n") == {
        "a-zookeeper-bc", "a-zookeeper-bc-1"}


def dangling(target: str, anchor: str | None, where: str) -> str | None:
    """Why a citation of `target`(#`anchor`) made in `where` does not resolve, or None when it does."""
    path = DOCS / target
    if not path.is_file():
        return f"{where}: docs/{target} does not exist"
    if anchor and anchor not in anchors(path.read_text(encoding="utf-8")):
        return f"{where}: docs/{target} has no section #{anchor}"
    return None


def code_citations() -> list[tuple[str, str, str | None]]:
    """(where, file, anchor) of every `docs/...` citation in the code, the tests, the benchmarks
    and the READMEs."""
    found = []
    citing = [path for top in CITING for path in sorted((ROOT / top).rglob("*.py"))]
    for path in [*citing, ROOT / "README.md", ROOT / "bench" / "README.md"]:
        if path.is_file():
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                for match in CITATION.finditer(line):
                    found.append((f"{path.relative_to(ROOT)}:{number}", match.group(1), match.group(2)))
    return found


def test_the_code_cites_the_arcus_facts_in_docs():
    cited = {target for _, target, _ in code_citations()}
    assert "arcus.md" in cited, "no citation of docs/arcus.md found: is the pattern still right?"


def test_every_doc_citation_in_the_code_resolves():
    problems = [dangling(target, anchor, where) for where, target, anchor in code_citations()]
    assert [p for p in problems if p] == []


def test_every_link_between_docs_resolves():
    problems = []
    for path in sorted(DOCS.glob("*.md")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for match in DOC_LINK.finditer(line):
                target = match.group(1) or path.name
                problems.append(dangling(target, match.group(2), f"{path.relative_to(ROOT)}:{number}"))
    assert [p for p in problems if p] == []


def test_nothing_cites_notes_outside_the_repository():
    """The team's working notes are not shipped: the facts the code relies on are in docs/."""
    outside = []
    for top in CITING:
        for path in sorted((ROOT / top).rglob("*.py")):
            if "arcus-reference.md" in path.read_text(encoding="utf-8") and path != Path(__file__).resolve():
                outside.append(str(path.relative_to(ROOT)))
    assert outside == []
