"""The Setup tab driving the real deploy runner on the practice sandbox: press `s`,
answer the host-key and password modals as an operator would, watch the matrix
fill in, find six nodes online in ZooKeeper, then tear it all down with `t`."""

from __future__ import annotations

import time

import pytest
from kazoo.client import KazooClient

from arcus_tui.events import GATEWAY, HostState
from arcus_tui.ssh.paths import SshPaths
from arcus_tui.ui.app import ArcusApp
from arcus_tui.ui.panes.logs import LogsPane
from arcus_tui.ui.panes.setup import SetupPane
from arcus_tui.ui.screens.ask_host_key import AskHostKeyScreen
from arcus_tui.ui.screens.ask_password import AskPasswordScreen
from arcus_tui.ui.screens.confirm_setup import ConfirmSetupScreen
from arcus_tui.ui.screens.confirm_teardown import ConfirmTeardownScreen
from arcus_tui.zk.status import Health, read_service_status
from tests.e2e.test_setup_sandbox import listeners_on, node_processes, wait_until
from tests.infra.sandbox import PASSWORD

pytestmark = pytest.mark.timeout(300)  # the fixture may first wait for the practice hosts to be free

SERVICE = "sandbox-cloud"
RUN_TIMEOUT = 90.0


async def operate(app: ArcusApp, pilot, pane: SetupPane, runs: int, sandbox, seen: dict) -> None:
    """Answer what the run asks until it is over: the setup question, host keys by fingerprint,
    the password once."""
    deadline = time.monotonic() + RUN_TIMEOUT
    answered = seen.setdefault("screens", set())
    while pane.running or pane.run_number < runs:
        assert time.monotonic() < deadline, f"run {runs} did not finish in {RUN_TIMEOUT}s"
        screen = app.screen
        if id(screen) in answered:
            pass  # still closing
        elif isinstance(screen, ConfirmSetupScreen):
            answered.add(id(screen))
            seen["setup_questions"] = seen.get("setup_questions", 0) + 1
            await pilot.press("y")
        elif isinstance(screen, AskHostKeyScreen):
            answered.add(id(screen))
            question = screen.question
            assert question.fingerprint in sandbox.fingerprints, f"unexpected host key {question.fingerprint}"
            seen.setdefault("host_keys", []).append(question.host)
            await pilot.press("y")
        elif isinstance(screen, AskPasswordScreen):
            answered.add(id(screen))
            seen["passwords"] = seen.get("passwords", 0) + 1
            await pilot.press(*PASSWORD)
            await pilot.press("enter")
        await pilot.pause(0.05)
    await pilot.pause()


def online_status(cluster):
    client = KazooClient(hosts=cluster.connect_string)
    client.start(timeout=15)
    try:
        return read_service_status(client, SERVICE)
    finally:
        client.stop()
        client.close()


async def test_setup_and_teardown_from_the_setup_tab(practice_sandbox, tmp_path):
    sandbox = practice_sandbox
    cluster = sandbox.cluster
    # A gateway ~/.ssh of this test's own, so that the host keys are unknown and the key is not
    # on the hosts yet whatever ran before on the session's sandbox: both modals must show.
    gateway = tmp_path / "gateway-ssh"
    gateway.mkdir(mode=0o700)
    app = ArcusApp(cluster, str(sandbox.cluster_file), ssh_paths=SshPaths.under(gateway))
    started = time.monotonic()
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.press("2")
        await pilot.pause()
        pane = app.screen.query_one(SetupPane)

        # 1. setup from the keyboard
        seen: dict = {}
        await pilot.press("s")
        await operate(app, pilot, pane, 1, sandbox, seen)
        matrix = pane.matrix
        not_done = [(s, t, state.value) for s, t, state in matrix.states() if not state.succeeded]
        assert not not_done, f"{not_done}\n{pane.query_one('#setup-status').render().plain}"
        assert pane.report is not None and pane.report.ok
        assert sorted(seen.get("host_keys", [])) == sorted(host.name for host in cluster.hosts)
        assert seen.get("passwords") == 1  # asked once for the three hosts
        logs = app.screen.query_one(LogsPane)
        assert "make-key" in logs.log_of(GATEWAY).text
        assert all("copy-key" in logs.log_of(host.name).text for host in cluster.hosts)
        assert PASSWORD not in "\n".join(logs.log_of(target).text for target in logs.targets)
        assert PASSWORD not in app.runs.log.text_of(None)  # the merged log: every line of the run

        # 2. six nodes online, as the registry says
        status = online_status(cluster)
        assert status.status is Health.OK and len(status.online) == 6, status

        # 3. teardown from the keyboard, with the typed confirmation
        await pilot.press("t")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmTeardownScreen)
        await pilot.press(*f"Delete {SERVICE}", "enter")
        await operate(app, pilot, pane, 2, sandbox, seen)
        not_done = [(s, t, state.value) for s, t, state in matrix.states() if not state.succeeded]
        assert not not_done, f"{not_done}\n{pane.query_one('#setup-status').render().plain}"
        assert pane.report is not None and pane.report.ok
        assert all(state is not HostState.PENDING for _, _, state in matrix.states())

    # 4. nothing left running: no node, no ZooKeeper, no listener
    assert all(not node_processes(f"/home/{host.user}") for host in cluster.hosts)
    endpoints = {f"{host.address}:{port}" for host in cluster.hosts for port in (2181, 2888, 3888, 11211, 11212)}
    wait_until(lambda: not listeners_on(endpoints), 15, "listeners to close")
    assert time.monotonic() - started < 60, f"took {time.monotonic() - started:.0f}s"
