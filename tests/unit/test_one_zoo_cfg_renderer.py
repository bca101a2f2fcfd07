"""zoo.cfg has one renderer: arcus_tui/deploy/zookeeper_config.py. The deploy's hosts, the
local ensembles of the tests and benchmarks (tests/infra/local_zookeeper.py) and any test that
needs a zoo.cfg ask it, so ARCUS's keys and defaults cannot drift apart in two copies.

"Renders zoo.cfg" is read from the code: a `key=value` f-string of a zoo.cfg key (outside an
assert, where it is an expectation), or a (key, value) pair with a computed value."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RENDERER = REPO / "arcus_tui" / "deploy" / "zookeeper_config.py"
ZOO_CFG_KEYS = ("maxClientCnxns", "tickTime", "initLimit", "syncLimit", "dataDir", "clientPort", "clientPortAddress",
                "4lw.commands.whitelist", "minSessionTimeout", "maxSessionTimeout")


def _is_key(node: ast.AST) -> bool:
    """A zoo.cfg key as a literal, or `f"server.{...}"`."""
    if isinstance(node, ast.Constant):
        return node.value in ZOO_CFG_KEYS
    if isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
        return node.values[0].value == "server."
    return False


def _is_key_line(node: ast.AST) -> bool:
    """`f"tickTime={...}"`: the literal start names a key and a value is formatted in."""
    if not isinstance(node, ast.JoinedStr) or not node.values or not isinstance(node.values[0], ast.Constant):
        return False
    head = str(node.values[0].value)
    formatted = any(isinstance(part, ast.FormattedValue) for part in node.values)
    return formatted and any(head.startswith(f"{key}=") for key in ZOO_CFG_KEYS)


def renderings(source: str, filename: str) -> list[int]:
    """Line numbers where the code writes zoo.cfg entries."""
    tree = ast.parse(source, filename)
    in_assert = {id(inner) for node in ast.walk(tree) if isinstance(node, ast.Assert) for inner in ast.walk(node)}
    found = []
    for node in ast.walk(tree):
        if id(node) in in_assert:
            continue
        pair = (isinstance(node, ast.Tuple) and len(node.elts) == 2 and _is_key(node.elts[0])
                and not isinstance(node.elts[1], ast.Constant))
        if pair or _is_key_line(node):
            found.append(node.lineno)
    return found


def python_files() -> list[Path]:
    return sorted(path for top in ("arcus_tui", "tests", "bench") for path in (REPO / top).rglob("*.py"))


def test_only_the_one_module_renders_zoo_cfg():
    writers = {}
    for path in python_files():
        if lines := renderings(path.read_text(encoding="utf-8"), str(path)):
            writers[str(path.relative_to(REPO))] = lines
    assert list(writers) == [str(RENDERER.relative_to(REPO))], writers


def test_the_scan_sees_a_second_renderer():
    copy = '''
def render(member, data_dir):
    lines = ["tickTime=2000", f"dataDir={data_dir}", f"clientPortAddress={member.address}"]
    return lines + [f"server.{m.myid}={m.address}:2888:3888" for m in member.peers]

def entries(settings):
    return [("initLimit", settings.init_limit), (f"server.{settings.myid}", settings.address)]
'''
    assert renderings(copy, "copy.py") == [3, 3, 7, 7]


def test_the_scan_leaves_expectations_and_messages_alone():
    reader = '''
assert {f"dataDir={ensemble.data_dir(m)}", "tickTime=2000"} <= lines
expected = {f"server.{i}": f"{address}:2888:3888" for i, address in members}
message = ", ".join(f"server.{myid}={address}" for myid, address in membership)
'''
    assert renderings(reader, "reader.py") == []
