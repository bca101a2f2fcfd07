"""The setup probe against real OpenSSH (127.0.1.1-3:2022) and the suite's real ZooKeeper.

An empty host and an empty ensemble: everything is to do. After the engine's own step wrote
what it writes (zoo.cfg and myid by the runner, the package by upload, /arcus and the
registration in ZooKeeper), exactly that step is done. The probe itself changes nothing:
the hosts' files and the znodes are the same before and after it.

Run with the real-daemon lock held:
    flock /tmp/arcus-tui-real-daemons.lock .venv/bin/python -m pytest tests/integration/test_probe_real.py
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from arcus_tui.deploy.plan import ENSEMBLE, StepId, setup_plan
from arcus_tui.deploy.probe import Finding, ProbeOptions, probe_setup
from arcus_tui.deploy.runner import Runner, RunnerOptions
from arcus_tui.events import GATEWAY
from arcus_tui.model.arcus_json import export_arcus
from arcus_tui.ssh import Credentials, SshSession, ensure_gateway_key, upload
from arcus_tui.ssh.target import targets_for
from arcus_tui.zk.registry import ANY_NODE, init_arcus, nodes_from_cluster_json, register
from tests.unit.cluster_texts import cluster_from_text, cluster_text, host_table

pytestmark = pytest.mark.sshd

UNUSED_ZK_PORT = 2991  # the hosts' own ensemble is never started here: nobody answers on it


def probe_cluster(real, *, servers: tuple[str, ...] = (), package: str = ""):
    """The test sshd's hosts, one memcached node each; they run the ensemble unless `servers` names one."""
    hosts = [host_table(name, address, install_dir=f"~/{name}/arcus", memcached=[11300 + index],
                        zookeeper=not servers)
             for index, (name, address) in enumerate(zip(real.names, real.addresses))]
    text = cluster_text("probe-cloud", hosts, user=real.user, ssh_port=real.port, package=package or None,
                        servers=servers, zookeeper=None if servers else {"client_port": UNUSED_ZK_PORT})
    return cluster_from_text(text, "probe.toml")


def snapshot(home: Path) -> dict[str, str]:
    """Every file under the login's home with its checksum: what a write would change."""
    return {str(p.relative_to(home)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(home.rglob("*")) if p.is_file()}


def findings(result, *steps):
    return {(step.value, target): verdict.finding for (step, target), verdict in result.verdicts.items()
            if step in steps}


def package_dir(tmp_path: Path) -> Path:
    package = tmp_path / "package"
    (package / "bin").mkdir(parents=True)
    (package / "bin" / "memcached").write_text("#!/bin/sh\necho stand-in\n")
    (package / "README").write_text("probe test package\n")
    return package


async def test_hosts_empty_then_configured_by_the_runner(sshd_hosts, tmp_path):
    real = sshd_hosts
    paths = real.gateway_paths(tmp_path / "gateway")
    package = package_dir(tmp_path)
    cluster = probe_cluster(real, package=str(package))
    plan = setup_plan(cluster)
    options = ProbeOptions(ssh_paths=paths, timeout=10.0)

    empty = await probe_setup(plan, options)
    assert empty.get(StepId.MAKE_KEY, GATEWAY).finding is Finding.TO_DO
    # nothing is in place; only the membership check is: no member runs that could disagree
    assert [key for key, verdict in empty.verdicts.items() if verdict.done] == [
        (StepId.ZOOKEEPER_MEMBERSHIP, ENSEMBLE)]
    assert [step.id for step in plan.remaining(empty).steps] == [
        step.id for step in plan.steps if step.id is not StepId.ZOOKEEPER_MEMBERSHIP]

    key = ensure_gateway_key(paths.key_dir)
    refused = await probe_setup(plan, options)
    assert refused.get(StepId.MAKE_KEY, GATEWAY).finding is Finding.DONE
    assert {v for v in findings(refused, StepId.COPY_KEY).values()} == {Finding.TO_DO}  # not authorized yet

    real.authorize(key.public_line)
    async with Runner(cluster, RunnerOptions(ssh_paths=paths)) as runner:  # the engine writes zoo.cfg and myid
        written = await runner.run(plan.subset({StepId.ZOOKEEPER_CONFIG}))
    assert written.ok, written.outcomes
    async with SshSession(targets_for(cluster), paths=paths,
                          credentials=Credentials(identity_files=(key.path,), use_agent=False)) as ssh:
        release_dir = plan.step(StepId.UPLOAD_PACKAGE).actions["host1"][0].destination  # where setup puts it
        sent = await upload(ssh, package, hosts=["host1"], dest=release_dir)
    assert sent.ok

    before = snapshot(real.home)
    result = await probe_setup(plan, options)
    assert snapshot(real.home) == before  # the probe wrote nothing

    hosts = tuple(real.names)
    assert findings(result, StepId.COPY_KEY, StepId.VERIFY_LOGIN, StepId.ZOOKEEPER_CONFIG) == {
        (step.value, host): Finding.DONE
        for step in (StepId.COPY_KEY, StepId.VERIFY_LOGIN, StepId.ZOOKEEPER_CONFIG) for host in hosts}
    assert findings(result, StepId.UPLOAD_PACKAGE) == {
        (StepId.UPLOAD_PACKAGE.value, "host1"): Finding.DONE,
        (StepId.UPLOAD_PACKAGE.value, "host2"): Finding.TO_DO,
        (StepId.UPLOAD_PACKAGE.value, "host3"): Finding.TO_DO}
    assert set(findings(result, StepId.ZOOKEEPER_START, StepId.MEMCACHED_START).values()) == {Finding.TO_DO}
    assert result.get(StepId.ZOOKEEPER_QUORUM, ENSEMBLE).finding is Finding.TO_DO
    left = plan.remaining(result)
    assert StepId.ZOOKEEPER_CONFIG not in {step.id for step in left.steps}
    assert left.step(StepId.UPLOAD_PACKAGE).targets == ("host2", "host3")

    # one host's zoo.cfg edited by hand: only that host's config is to do again
    zoo_cfg = real.home / "host2" / "arcus" / "zookeeper" / "conf" / "zoo.cfg"
    assert zoo_cfg.is_file(), sorted(snapshot(real.home))
    zoo_cfg.write_text(zoo_cfg.read_text() + "# edited\n")
    again = await probe_setup(plan, options)
    assert {host for (_, host), found in findings(again, StepId.ZOOKEEPER_CONFIG).items()
            if found is not Finding.DONE} == {"host2"}


async def test_registry_empty_then_registered(sshd_hosts, zk_hosts, zk_client, tmp_path):
    real = sshd_hosts
    paths = real.gateway_paths(tmp_path / "gateway")
    cluster = probe_cluster(real, servers=tuple(zk_hosts.split(",")))
    plan = setup_plan(cluster)
    options = ProbeOptions(ssh_paths=paths, timeout=10.0)
    registry_steps = (StepId.ZOOKEEPER_INIT, StepId.REGISTER, StepId.MEMCACHED_ONLINE)

    empty = await probe_setup(plan, options)
    assert set(findings(empty, *registry_steps).values()) == {Finding.TO_DO}
    assert not zk_client.exists("/arcus")  # a read-only probe creates nothing, not even /arcus

    from arcus_tui.zk.session import RegistrySession
    with RegistrySession.connect(zk_hosts, timeout=15) as writer:  # what init and register write
        init_arcus(writer)
        document = export_arcus(cluster)
        register(writer, cluster.service_code, document, nodes_from_cluster_json(document),
                 allowed_removals=ANY_NODE)
    tree_before = sorted(zk_client.get_children("/arcus/cache_server_mapping"))

    result = await probe_setup(plan, options)
    assert findings(result, *registry_steps) == {
        (StepId.ZOOKEEPER_INIT.value, ENSEMBLE): Finding.DONE,
        (StepId.REGISTER.value, ENSEMBLE): Finding.DONE,
        (StepId.MEMCACHED_ONLINE.value, ENSEMBLE): Finding.TO_DO,  # no node runs
    }
    assert sorted(zk_client.get_children("/arcus/cache_server_mapping")) == tree_before
    assert [step.id for step in plan.remaining(result).steps if step.id in registry_steps] == [
        StepId.MEMCACHED_ONLINE]
