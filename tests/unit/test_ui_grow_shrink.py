"""The Setup tab on a running cloud: what a grown or shrunk layout changes is shown as a diff
before anything runs, and a node that would be unmapped where nothing could stop it is refused."""

from __future__ import annotations

import pytest

from arcus_tui.deploy import probe as probe_module
from arcus_tui.deploy.plan import StepId
from arcus_tui.model import parse_cluster
from arcus_tui.ui.app import ArcusApp
from arcus_tui.ui.panes import setup as setup_pane_module
from arcus_tui.ui.screens.confirm_setup import ConfirmSetupScreen
from arcus_tui.zk.registry import RegistrationDiff

from tests.unit.cluster_texts import THREE_HOSTS
from tests.unit.ui_waits import drawn, until

SIZE = (140, 50)


def toasts(app) -> str:
    """Every notification on the screen as drawn, its wrapped lines joined back into one text."""
    return " ".join(" ".join(line.strip(" ▌▐") for line in drawn(toast).splitlines()) for toast in app.screen.query("Toast"))


def probe_finding(diff: RegistrationDiff):
    """A probe that found everything in place but the registration, which differs by `diff`."""
    async def probe(plan, options=None):
        result = probe_module.ProbeResult(registration=diff)
        for step in plan.steps:
            for target in step.targets:
                result.set(step.id, target, probe_module.to_do("differs") if step.id is StepId.REGISTER
                           else probe_module.done("in place"))
        return result
    return probe


@pytest.fixture
def grown(tmp_path):
    text = THREE_HOSTS.replace('address = "127.0.0.3"\nzookeeper = true\nmemcached = [11211]',
                               'address = "127.0.0.3"\nzookeeper = true\nmemcached = [11211, 11212]')
    path = tmp_path / "cloud.toml"
    path.write_text(text)
    return parse_cluster(text, str(path)).cluster, str(path)


async def open_setup(app, pilot):
    await pilot.press("2")
    pane = app.screen.query_one("#setup-pane")
    await until(pilot, lambda: "already in place" in drawn(pane.query_one("#setup-status")), "the probe")
    await pilot.press("s")
    return pane


async def test_a_grown_and_shrunk_layout_is_confirmed_as_a_diff(grown, monkeypatch):
    cluster, path = grown
    diff = RegistrationDiff("test-cloud", True, added=("127.0.0.3:11212",), removed=("127.0.0.2:11299",),
                            unchanged=("127.0.0.1:11211", "127.0.0.2:11211", "127.0.0.3:11211"))
    monkeypatch.setattr(setup_pane_module, "probe_setup", probe_finding(diff))
    app = ArcusApp(cluster, path, probe=True)
    async with app.run_test(size=SIZE) as pilot:
        await open_setup(app, pilot)
        await until(pilot, lambda: isinstance(app.screen, ConfirmSetupScreen), "the confirmation")
        asked = "\n".join(drawn(widget) for widget in app.screen.query("Static"))
        assert "Changes to the running cloud:" in asked
        assert "+ node 127.0.0.3:11212 on cache003: registered, then started" in asked
        assert "- node 127.0.0.2:11299: its mapping is removed, then it stops" in asked
        assert "= 3 node(s) unchanged: not restarted" in asked
        assert "Stop the nodes leaving the cloud" in asked and "stop memcached 127.0.0.2:11299 on cache002" in asked


async def test_a_node_whose_host_left_the_file_is_refused_before_anything_is_asked(grown, monkeypatch):
    cluster, path = grown
    diff = RegistrationDiff("test-cloud", True, removed=("127.0.0.9:11211",),
                            unchanged=("127.0.0.1:11211", "127.0.0.2:11211", "127.0.0.3:11211"))
    monkeypatch.setattr(setup_pane_module, "probe_setup", probe_finding(diff))
    app = ArcusApp(cluster, path, probe=True)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_setup(app, pilot)
        await until(pilot, lambda: "127.0.0.9:11211" in toasts(app), "the refusal")
        assert "Setup refused" in toasts(app) and "arcus-tui remove FILE --host NAME" in toasts(app)
        assert not isinstance(app.screen, ConfirmSetupScreen)
