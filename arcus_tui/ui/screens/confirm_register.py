"""Before register removes a registered node's mapping: the operator types the service code.

The engine's register step computes the difference against what is registered
(`RegistrationDiff`) and asks through `PlanOptions.ask_removal`; this modal is the
app's way of asking. It only shows and answers; what needs consent is the engine's call.
"""

from __future__ import annotations

from textual.content import Content

from arcus_tui.zk.registry import RegistrationDiff

from .typed_confirmation import TypedConfirmationScreen

MAX_LINES = 24  # a 200-node registration must still fit on the screen


def shown_lines(lines: list[str], limit: int = MAX_LINES) -> list[str]:
    """At most `limit` lines, the rest counted."""
    if len(lines) <= limit:
        return lines
    return lines[:limit - 1] + [f"  … and {len(lines) - limit + 1} more line(s)"]


class ConfirmRegisterScreen(TypedConfirmationScreen):
    """Shows the difference; True only once the service code is typed exactly."""

    placeholder = "the service code"

    def __init__(self, diff: RegistrationDiff) -> None:
        super().__init__(f"Register {diff.service_code}: remove {len(diff.removed)} node(s)?", diff.service_code)
        self.diff = diff

    def what(self) -> list[Content]:
        removed = len(self.diff.removed)
        return [Content(line) for line in shown_lines(self.diff.describe())] + [
            Content(""),
            Content(f"Registering this file deletes the mapping of {removed} node(s) registered under "
                    f"{self.diff.service_code} (another team's file under the same code?)."),
        ]
