"""The footer is rebuilt when the keys it shows change, and only then."""

from __future__ import annotations

from textual.app import App
from textual.binding import Binding
from textual.widgets import Static

from arcus_tui.ui.widgets.steady_footer import SteadyFooter


class Box(Static, can_focus=True):
    BINDINGS = [Binding("x", "noop", "Cross")]

    def action_noop(self) -> None:
        pass


class Special(Box):
    BINDINGS = [Binding("y", "yank", "Yank")]

    def action_yank(self) -> None:
        pass


class FooterApp(App[None]):
    BINDINGS = [Binding("q", "quit", "Quit")]

    def compose(self):
        yield Box("one", id="one")
        yield Box("two", id="two")
        yield Special("three", id="three")
        yield SteadyFooter()

    def on_mount(self) -> None:
        self.screen.set_focus(self.query_one("#one"))


def footer_text(app: App) -> str:
    footer = app.screen.query_one(SteadyFooter)
    return " ".join(key.render().plain for key in footer.query("FooterKey"))


async def test_moving_between_widgets_with_the_same_keys_keeps_the_footer():
    app = FooterApp()
    async with app.run_test(size=(80, 10)) as pilot:
        await pilot.pause()
        keys = list(app.screen.query("FooterKey"))
        assert "Cross" in footer_text(app) and "Yank" not in footer_text(app)
        app.screen.set_focus(app.query_one("#two"))
        await pilot.pause()
        await pilot.pause()
        assert list(app.screen.query("FooterKey")) == keys  # the same widgets: not rebuilt
        app.screen.set_focus(app.query_one("#three"))
        await pilot.pause()
        await pilot.pause()
        assert "Yank" in footer_text(app) and "Cross" in footer_text(app)
        app.screen.set_focus(app.query_one("#one"))
        await pilot.pause()
        await pilot.pause()
        assert "Yank" not in footer_text(app)
