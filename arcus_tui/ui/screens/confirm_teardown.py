"""Before the teardown: the operator types `Delete <service_code>`, as arcus.sh asked
(docs/arcus.md#init-register-and-unregister)."""

from __future__ import annotations

from textual.content import Content

from arcus_tui.deploy.recipes import teardown_phrase as confirmation_phrase

from .typed_confirmation import TypedConfirmationScreen


class ConfirmTeardownScreen(TypedConfirmationScreen):
    """Lists what the teardown will do; True only once `Delete <service code>` is typed."""

    def __init__(self, service_code: str, what: list[str]) -> None:
        super().__init__(f"Tear down {service_code}", confirmation_phrase(service_code))
        self.service_code = service_code
        self.steps = what

    def what(self) -> list[Content]:
        # an indented line details the item above it (e.g. one process of a step)
        return [Content("This will:")] + [
            Content(f"      {line.strip()}" if line.startswith(" ") else f"  • {line}") for line in self.steps]
