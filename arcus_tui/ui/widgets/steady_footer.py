"""A Footer that is rebuilt only when the keys it shows change.

Textual's `Footer` recomposes (every key widget anew, restyled, laid out again) on each
`refresh_bindings`, and the screen asks for one on every focus change. Moving between the
Grid's boxes or the Logs' hosts changes the focus with each key but not the keys shown, so
with a fleet on screen that rebuild was most of a key press's cost.
"""

from __future__ import annotations

from typing import Hashable

from textual.screen import Screen
from textual.widgets import Footer


class SteadyFooter(Footer):
    """`Footer`, recomposed only when the shown bindings (or whether each is enabled) change."""

    _shown: Hashable = None

    def shown_bindings(self) -> Hashable:
        """What the footer draws: each shown binding, enabled or not, with its tooltip."""
        active = self.screen.active_bindings
        keys = tuple((binding, enabled, tooltip) for (_, binding, enabled, tooltip) in active.values() if binding.show)
        palette = active.get(self.app.COMMAND_PALETTE_BINDING) if self.show_command_palette else None
        return keys, palette and palette[1:]

    def bindings_changed(self, screen: Screen) -> None:
        self._bindings_ready = True
        if screen.app.app_focus and self.is_attached and screen is self.screen:
            self.call_after_refresh(self._recompose_if_changed)

    async def _recompose_if_changed(self) -> None:
        if not self.is_attached:
            return
        shown = self.shown_bindings()
        if shown != self._shown:
            self._shown = shown
            await self.recompose()
