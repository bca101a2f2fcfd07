"""The quorum wait names each ensemble member's events by the host that runs it, so no pane
has to map `address:port` back to a host name."""

from __future__ import annotations

import asyncio
import contextlib

from arcus_tui.deploy.plan import ENSEMBLE, StepId, setup_plan
from arcus_tui.deploy.registry_steps import RegistrySteps
from arcus_tui.deploy.report import DeployReport
from arcus_tui.localhost import free_port
from arcus_tui.model import parse_cluster

from tests.unit.cluster_texts import THREE_HOSTS

SRVR = "Zookeeper version: 3.8.4\nLatency min/avg/max: 0/0/0\nZxid: 0x100000002\nMode: {mode}\nNode count: 5\n"


@contextlib.asynccontextmanager
async def members(port: int, modes: dict[str, str]):
    """Fake ensemble members answering `srvr` on `address:port` with their mode."""
    async def answer(mode, reader, writer):
        await reader.read(4)
        writer.write(SRVR.format(mode=mode).encode())
        await writer.drain()
        writer.close()

    servers = [await asyncio.start_server(lambda r, w, mode=mode: answer(mode, r, w), address, port)
               for address, mode in modes.items()]
    try:
        yield
    finally:
        for server in servers:
            server.close()


async def test_member_events_name_the_hosts_and_a_foreign_member_the_ensemble():
    port = free_port("127.0.0.1")
    text = THREE_HOSTS.replace('user = "arcus"', f'user = "arcus"\n\n[zookeeper]\nclient_port = {port}', 1)
    cluster = parse_cluster(text, "test.toml").cluster
    events = []
    steps = RegistrySteps(cluster, events.append)
    plan = setup_plan(cluster)
    step = plan.step(StepId.ZOOKEEPER_QUORUM)
    async with members(port, {"127.0.0.1": "leader", "127.0.0.2": "follower", "127.0.0.3": "follower"}):
        state, message = await steps.execute(step, step.actions[ENSEMBLE], DeployReport(plan))
    assert message.startswith("leader 127.0.0.1:"), message
    member_events = [event for event in events if event.host != ENSEMBLE]
    assert {event.host for event in member_events} == {"cache001", "cache002", "cache003"}
    assert any(event.host == "cache001" and event.text.startswith("mode: leader") for event in member_events)
    assert steps.member_host(f"127.0.0.9:{port}") == ENSEMBLE
