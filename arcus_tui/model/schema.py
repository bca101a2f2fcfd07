"""Every key a cluster file may hold: its type, its check and what it means.

`docs/cluster-file.md` documents the same keys for people; tests check that the
two agree, so a key cannot be added here without being documented.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional

from . import names
from .node_settings import NODE_SETTINGS

Check = Callable[[Any], Optional[str]]


@dataclass(frozen=True)
class KeySpec:
    kind: type
    doc: str
    check: Optional[Check] = None
    required: bool = False
    warn: Optional[Check] = None  # a possible but unusual value: a warning, not an error

    @property
    def type_name(self) -> str:
        return {int: "a whole number", str: "a string", bool: "true or false", list: "a list"}[self.kind]

    def accepts(self, value: Any) -> bool:
        if self.kind is int and isinstance(value, bool):
            return False
        return isinstance(value, self.kind)


def _each_endpoint(values: list) -> Optional[str]:
    for value in values:
        if not isinstance(value, str):
            return f"entries must be \"host:port\" strings, not {value!r}"
        if problem := names.endpoint_problem(value):
            return problem
    return None


_PORT = names.port_problem
_POSITIVE = names.positive_problem

CLUSTER_KEYS = {
    "service_code": KeySpec(str, "ARCUS service code (cloud name)", names.plain_name_problem, required=True),
    "user": KeySpec(str, "SSH login on every host (default: the current user)", names.plain_name_problem),
    "ssh_port": KeySpec(int, "SSH port on every host", _PORT),
    "install_dir": KeySpec(str, "where the ARCUS package lives on each host", names.remote_path_problem),
    "identity_file": KeySpec(str, "private key the gateway logs in with (default: ssh's own choice)",
                             names.free_text_problem),
    "package": KeySpec(str, "ARCUS build directory or .tar.gz on the gateway, uploaded to install_dir",
                       names.free_text_problem),
    "bind_address": KeySpec(bool, "bind ZooKeeper and memcached to each host's address (needed on loopback aliases)"),
}

ZOOKEEPER_KEYS = {
    "client_port": KeySpec(int, "client port of every ensemble member we run", _PORT),
    "quorum_port": KeySpec(int, "peer port in server.N lines", _PORT),
    "election_port": KeySpec(int, "leader election port in server.N lines", _PORT),
    "servers": KeySpec(list, "an ensemble you already run, as \"host:port\"; then no host has zookeeper = true", _each_endpoint),
    "tick_time": KeySpec(int, "zoo.cfg tickTime (ms)", _POSITIVE),
    "init_limit": KeySpec(int, "zoo.cfg initLimit (ticks)", _POSITIVE),
    "sync_limit": KeySpec(int, "zoo.cfg syncLimit (ticks)", _POSITIVE),
    "max_client_cnxns": KeySpec(int, "zoo.cfg maxClientCnxns", _POSITIVE),
    "min_session_timeout": KeySpec(int, "zoo.cfg minSessionTimeout (ms)", _POSITIVE),
    "max_session_timeout": KeySpec(int, "zoo.cfg maxSessionTimeout (ms)", _POSITIVE),
    "session_timeout": KeySpec(int, "ZooKeeper session timeout of every memcached node (memcached -o, seconds)",
                               names.node_session_timeout_problem),
}


NODE_SETTING_SPECS = {
    setting.name: KeySpec(int, f"{setting.doc} ({setting.option})", names.setting_problem(setting.name),
                          warn=names.setting_warning(setting.name))
    for setting in NODE_SETTINGS
}

MEMCACHED_KEYS = NODE_SETTING_SPECS

NODE_KEYS = {
    "port": KeySpec(int, "memcached port (-p)", _PORT, required=True),
    **NODE_SETTING_SPECS,
}

HOST_KEYS = {
    "name": KeySpec(str, "host name (the ARCUS hostname)", names.plain_name_problem, required=True),
    "address": KeySpec(str, "IP address (or DNS name) the gateway and ARCUS use", names.address_problem, required=True),
    "zookeeper": KeySpec(bool, "run a ZooKeeper ensemble member here"),
    "memcached": KeySpec(list, "memcached nodes: ports, or tables with port and overrides"),
    "user": CLUSTER_KEYS["user"],
    "ssh_port": CLUSTER_KEYS["ssh_port"],
    "install_dir": CLUSTER_KEYS["install_dir"],
    "identity_file": CLUSTER_KEYS["identity_file"],
}

SECTIONS = {
    "cluster": CLUSTER_KEYS,
    "zookeeper": ZOOKEEPER_KEYS,
    "memcached": MEMCACHED_KEYS,
    "host": HOST_KEYS,  # an array of tables: [[host]]
}
