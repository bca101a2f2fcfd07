"""The machine-wide file lock now lives in `arcus_tui.locks` (the package builder uses it too);
this name stays so that existing imports keep working."""

from arcus_tui.locks import LockTimeout, held

__all__ = ["LockTimeout", "held"]
