"""Skip on a laptop, fail in CI: the one rule for tests that need real daemons."""

from __future__ import annotations

import os
import shutil

import pytest


def in_ci() -> bool:
    return bool(os.environ.get("CI"))


def missing(reason: str) -> None:
    """A real dependency is absent: fail when CI is set, skip otherwise."""
    if in_ci():
        pytest.fail(f"CI is set but {reason}", pytrace=False)
    pytest.skip(reason)


def require_executable(*candidates: str) -> str:
    """The first candidate path or command name that exists, or skip/fail."""
    for candidate in candidates:
        found = shutil.which(candidate) or (candidate if os.access(candidate, os.X_OK) else None)
        if found:
            return found
    missing(f"none of {', '.join(candidates)} is installed")
    raise AssertionError("unreachable")
