"""The running ensemble's membership (`conf`), and the refusal to change it on a live cloud."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from arcus_tui.deploy.actions import EnsembleMembership
from arcus_tui.deploy.membership_check import check_membership
from arcus_tui.events import HostState
from arcus_tui.zk.membership import parse_conf_membership
from arcus_tui.zk.session import RegistryError

QUORUM_CONF = """clientPort=2181
dataDir=/var/lib/zookeeper/version-2
serverId=1
electionPort=3888
quorumPort=2888
peerType=0
membership: 
server.1=127.0.2.1:2888:3888:participant;127.0.2.1:2181
server.2=127.0.2.2:2888:3888:participant
server.3=127.0.2.3:2888:3888:observer;0.0.0.0:2181
version=0
"""
STANDALONE_CONF = "clientPort=2181\ndataDir=/tmp/zk/version-2\nserverId=0\n"
WHITELIST = "conf is not executed because it is not in the whitelist.\n"
FILE_MEMBERS = ((1, "127.0.2.1:2888:3888"), (2, "127.0.2.2:2888:3888"), (3, "127.0.2.3:2888:3888"))


def test_a_quorum_member_lists_every_server_without_role_and_client_part():
    membership, standalone = parse_conf_membership(QUORUM_CONF)
    assert not standalone
    assert membership == dict(FILE_MEMBERS)


def test_a_standalone_member_has_no_membership_section():
    assert parse_conf_membership(STANDALONE_CONF) == (None, True)


@pytest.mark.parametrize("reply", [WHITELIST, "garbage"])
def test_a_reply_that_is_no_conf_is_an_error(reply):
    with pytest.raises(ValueError):
        parse_conf_membership(reply)


@contextlib.asynccontextmanager
async def conf_servers(*replies: str):
    """One fake member per reply on 127.0.0.1 (ephemeral ports), answering `conf` with it."""
    async def serve(reply, reader, writer):
        await reader.read(4)
        writer.write(reply.encode())
        await writer.drain()
        writer.close()

    servers = [await asyncio.start_server(lambda r, w, reply=reply: serve(reply, r, w), "127.0.0.1", 0)
               for reply in replies]
    try:
        yield tuple(f"127.0.0.1:{server.sockets[0].getsockname()[1]}" for server in servers)
    finally:
        for server in servers:
            server.close()


async def free_member() -> str:
    """An address where nothing listens (a member that is not running)."""
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    return f"127.0.0.1:{port}"


async def test_members_started_with_the_files_list_pass():
    async with conf_servers(QUORUM_CONF.replace(":observer", ":participant"), QUORUM_CONF) as members:
        state, why = await check_membership(EnsembleMembership(members + (await free_member(),), FILE_MEMBERS))
    assert state is HostState.ALREADY_DONE and "2 running member(s) agree" in why


async def test_no_running_member_means_nothing_to_check():
    state, why = await check_membership(EnsembleMembership((await free_member(),), FILE_MEMBERS))
    assert state is HostState.ALREADY_DONE and "no member is serving" in why


async def test_a_new_member_in_the_file_is_refused_with_the_manual_procedure():
    grown = FILE_MEMBERS + ((4, "127.0.2.4:2888:3888"),)
    async with conf_servers(QUORUM_CONF) as members:
        with pytest.raises(RegistryError) as refused:
            await check_membership(EnsembleMembership(members, grown))
    message = str(refused.value)
    assert "server.4=127.0.2.4:2888:3888" in message and "Nothing was written" in message
    assert "followers first and the leader last" in message


async def test_a_standalone_member_refuses_a_three_member_file_and_an_unreadable_one_refuses_too():
    async with conf_servers(STANDALONE_CONF) as members:
        with pytest.raises(RegistryError, match="itself alone"):
            await check_membership(EnsembleMembership(members, FILE_MEMBERS))
        state, _ = await check_membership(EnsembleMembership(members, FILE_MEMBERS[:1]))
        assert state is HostState.ALREADY_DONE
    async with conf_servers(WHITELIST) as members:
        with pytest.raises(RegistryError, match="whitelist"):
            await check_membership(EnsembleMembership(members, FILE_MEMBERS))


async def test_members_without_quorum_yet_hold_nothing_live_and_do_not_refuse():
    not_serving = "This ZooKeeper instance is not currently serving requests\n"
    async with conf_servers(not_serving, not_serving) as members:
        state, why = await check_membership(EnsembleMembership(members, FILE_MEMBERS))
    assert state is HostState.ALREADY_DONE and "no member is serving" in why
    async with conf_servers(not_serving, QUORUM_CONF.replace("server.3=127.0.2.3:2888:3888:observer;0.0.0.0:2181\n", "")) as members:
        with pytest.raises(RegistryError, match="runs with server.1=127.0.2.1:2888:3888, server.2="):
            await check_membership(EnsembleMembership(members, FILE_MEMBERS))
