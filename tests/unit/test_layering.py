"""Layers point down only: nothing under arcus_tui/ outside ui/ uses Textual.

The engine (model, ssh, zk, deploy, monitor, ...) must run without a terminal:
the headless verbs and the tests drive the same code the screens drive.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import arcus_tui

PACKAGE = Path(arcus_tui.__file__).resolve().parent
UI = PACKAGE / "ui"
ABOVE_THE_ENGINE = {PACKAGE / "cli.py", PACKAGE / "__main__.py"}
"""The entry points sit above ui/ and may start it; the rest is engine."""


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, source: str | None = None) -> set[str]:
    """Every module a file imports, anywhere in it (functions too), relative imports resolved."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    if source is None:
        source = path.read_text(encoding="utf-8")
    found: set[str] = set()
    for node in ast.walk(ast.parse(source, str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) in (
            "import_module",
            "__import__",
        ):
            if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                found.add(node.args[0].value)
    return found


def is_within(module: str, top: str) -> bool:
    return module == top or module.startswith(top + ".")


def engine_files() -> list[Path]:
    return sorted(
        path for path in PACKAGE.rglob("*.py") if UI not in path.parents and path not in ABOVE_THE_ENGINE
    )


def non_ui_files() -> list[Path]:
    return sorted(path for path in PACKAGE.rglob("*.py") if UI not in path.parents)


def test_the_walk_sees_the_engine_packages():
    names = {module_name(path) for path in engine_files()}
    for package in ("arcus_tui.model", "arcus_tui.ssh", "arcus_tui.zk", "arcus_tui.deploy", "arcus_tui.monitor",
                    "arcus_tui.package"):
        assert package in names
    assert not any(is_within(name, "arcus_tui.ui") for name in names)


def test_the_import_scan_catches_textual_imports():
    # The check below is only worth something if it can fail.
    fake = PACKAGE / "model" / "_not_a_real_module.py"
    sources = {
        "import textual": "textual",
        "from textual.app import App": "textual.app",
        "def f():\n    from textual import on\n": "textual",
        "import importlib\nimportlib.import_module('textual.widgets')": "textual.widgets",
        "from ..ui import app": "arcus_tui.ui",
    }
    for source, expected in sources.items():
        assert expected in imported_modules(fake, source), source


@pytest.mark.parametrize("path", non_ui_files(), ids=lambda path: module_name(path))
def test_no_textual_outside_ui(path):
    textual = sorted(module for module in imported_modules(path) if is_within(module, "textual"))
    assert not textual, f"{path.relative_to(PACKAGE.parent)} imports {textual}: Textual belongs in arcus_tui/ui/"


@pytest.mark.parametrize("path", engine_files(), ids=lambda path: module_name(path))
def test_engine_does_not_import_the_ui(path):
    ui = sorted(module for module in imported_modules(path) if is_within(module, "arcus_tui.ui"))
    assert not ui, f"{path.relative_to(PACKAGE.parent)} imports {ui}: the engine must not depend on the UI"


def test_importing_the_engine_loads_no_textual():
    modules = [module_name(path) for path in engine_files()]
    script = (
        "import importlib, json, sys\n"
        "failed = {}\n"
        f"for name in {modules!r}:\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except Exception as error:\n"
        "        failed[name] = f'{type(error).__name__}: {error}'\n"
        "loaded = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "print(json.dumps({'textual': loaded, 'failed': failed}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=PACKAGE.parent,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["textual"] == [], f"importing the engine loaded Textual: {report['textual']}"
    assert report["failed"] == {}, (
        "these modules do not import, so this check could not look inside them: "
        + "; ".join(f"{name}: {error}" for name, error in report["failed"].items())
    )
