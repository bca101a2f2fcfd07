"""Suite-wide fixtures. Real daemons (sshd, ZooKeeper, memcached) start once per
session in tests/infra and are stopped by the PIDs they were started with."""

import os
import tempfile

# Every connection the engine opens during the tests must stay on this machine:
# the sample clusters name 10.0.0.x hosts, and no test may ever reach for them.
os.environ["ARCUS_TUI_LOOPBACK_ONLY"] = "1"
# Runs write audit trails and saved logs under the XDG state home: the tests' own, never the user's.
os.environ["XDG_STATE_HOME"] = os.path.join(tempfile.gettempdir(), "arcus-tui-tests", "state")

pytest_plugins = [
    "tests.infra.sshd",
    "tests.infra.zookeeper",
    "tests.infra.sandbox",
    "tests.infra.arcus_package",
]
