"""What goes wrong in a package build, said in words an operator can act on."""

from __future__ import annotations

from pathlib import Path


class PackageBuildError(RuntimeError):
    """The build cannot go on. The message is complete: the verb prints it as is."""


class StageFailed(PackageBuildError):
    """A build stage failed; the message carries the end of the build log and where the log is."""

    def __init__(self, stage: str, reason: str, log_path: Path, log_tail: str):
        self.stage = stage
        self.log_path = log_path
        detail = f"{reason}\n{log_tail}" if log_tail else reason
        super().__init__(f"package build failed at stage {stage}: {detail}\nbuild log: {log_path}")
