"""Suite-wide fixtures. Real daemons (sshd, ZooKeeper, memcached) start once per
session in tests/infra and are stopped by the PIDs they were started with."""

pytest_plugins = [
    "tests.infra.sshd",
    "tests.infra.zookeeper",
]
