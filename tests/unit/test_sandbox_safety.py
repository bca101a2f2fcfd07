"""The practice sandbox's safety rules (issue 8), proven without root side effects:
logins, chpasswd, useradd/userdel and the system sshd are replaced by recorders;
PID checks run against real processes started by the test.

- a random password per sandbox, kept 0600 in its state dir, shown only when asked;
- `sandbox up` refuses a login it did not make before it touches anything;
- `sandbox destroy` stops everything, then removes only the logins it made, with their homes;
- the machine's own sshd is kept from accepting the practice logins;
- `sandbox down` without a state dir, `-o` over a file the sandbox did not write;
- a recorded PID is signalled only when it is still the process the sandbox started.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from arcus_tui.cli import main
from arcus_tui.sandbox import practice_hosts, sandbox as sandbox_module, system_sshd
from arcus_tui.sandbox.practice_hosts import SANDBOX_MARK, PracticeHost, SandboxError
from arcus_tui.sandbox.sandbox import sandbox_destroy, sandbox_down, sandbox_up
from arcus_tui.sandbox.sshd import find_sshd, start_sshd


# --- a machine where we are root, without touching it ------------------------------------------

HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl test-host"

class Machine:
    """Logins (name -> GECOS), and every command the sandbox would have run, in order."""

    def __init__(self, logins: dict[str, str]):
        self.logins = dict(logins)
        self.commands: list[list[str]] = []
        self.inputs: list[bytes] = []
        self.events: list[str] = []  # what happened, in order: "protect", "start cache001.arcus", ...

    def getpwnam(self, name: str):
        if name not in self.logins:
            raise KeyError(name)
        return type("Entry", (), {"pw_name": name, "pw_gecos": self.logins[name], "pw_dir": f"/home/{name}"})()

    def run(self, argv, **kwargs):
        self.commands.append(list(argv))
        self.events.append(argv[0])
        if argv[0] == "useradd":
            self.logins[argv[-1]] = SANDBOX_MARK
        if argv[0] == "userdel":
            self.logins.pop(argv[-1], None)
        if kwargs.get("input") is not None:
            self.inputs.append(kwargs["input"])
        return subprocess.CompletedProcess(argv, 0, b"", b"")

    def passwords_set(self) -> dict[str, str]:
        pairs = [line.split(":", 1) for data in self.inputs for line in data.decode().splitlines()]
        return {user: password for user, password in pairs}


@pytest.fixture
def machine(monkeypatch, tmp_path):
    """Root on a machine with no practice logins yet; nothing real is created or started."""
    box = Machine({})
    monkeypatch.setattr(practice_hosts.os, "geteuid", lambda: 0)
    monkeypatch.setattr(practice_hosts.pwd, "getpwnam", box.getpwnam)
    monkeypatch.setattr(practice_hosts.subprocess, "run", box.run)

    def start_host(host, state_dir):
        box.events.append(f"start {host.name}")
        return replace(host, sshd_pid=0, host_key=HOST_KEY), None

    def protect(users):
        box.events.append("protect")
        return []

    monkeypatch.setattr(sandbox_module, "start_host", start_host)
    monkeypatch.setattr(sandbox_module, "protect_practice_logins", protect)
    monkeypatch.setattr(sandbox_module, "build_standin_package",
                        lambda path: box.events.append("package") or type("P", (), {"path": path})())
    monkeypatch.setattr(sandbox_module, "stop_hosts", lambda hosts, **k: box.events.append("stop") or [])
    monkeypatch.setattr(sandbox_module, "wipe_host", lambda host: box.events.append(f"wipe {host.name}"))
    return box


# --- item 3: the password -----------------------------------------------------------------------

def test_each_sandbox_gets_its_own_random_password_kept_private(machine, tmp_path):
    first, second = tmp_path / "one", tmp_path / "two"
    sandbox_up(2, None, first, package=tmp_path / "pkg")
    password = machine.passwords_set()["arcus-sb1"]
    assert len(password) >= 16 and password != "arcus"
    assert machine.passwords_set() == {"arcus-sb1": password, "arcus-sb2": password}
    stored = first / "password"
    assert stored.read_text().strip() == password
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert stat.S_IMODE(first.stat().st_mode) & 0o077 == 0  # the state dir is private too

    sandbox_up(2, None, first, package=tmp_path / "pkg")  # the same sandbox keeps its password
    assert machine.passwords_set()["arcus-sb1"] == password
    sandbox_up(2, None, second, package=tmp_path / "pkg")  # another sandbox gets another one
    assert machine.passwords_set()["arcus-sb1"] != password


def test_a_password_file_left_readable_is_made_private_again(machine, tmp_path):
    sandbox_up(1, None, tmp_path, package=tmp_path / "pkg")
    (tmp_path / "password").chmod(0o644)
    sandbox_up(1, None, tmp_path, package=tmp_path / "pkg")
    assert stat.S_IMODE((tmp_path / "password").stat().st_mode) == 0o600


def _up(capsys, tmp_path, *extra):
    code = main(["sandbox", "up", "--standin", "--hosts", "2", "--state-dir", str(tmp_path / "state"),
                 "-o", str(tmp_path / "sandbox.toml"), *extra])
    out, err = capsys.readouterr()
    return code, out + err


def test_sandbox_up_shows_the_password_only_when_asked(machine, tmp_path, capsys):
    code, output = _up(capsys, tmp_path)
    assert code == 0, output
    password = (tmp_path / "state" / "password").read_text().strip()
    assert password not in output  # neither in the summary nor in the "next:" hints
    assert "arcus-tui sandbox password" in output
    assert f"--password-file {tmp_path / 'state' / 'password'}" in output  # setup can use it unprinted

    code, output = _up(capsys, tmp_path, "--show-password")
    assert code == 0 and password in output

    assert main(["sandbox", "password", "--state-dir", str(tmp_path / "state")]) == 0
    assert capsys.readouterr().out == password + "\n"


def test_sandbox_password_without_a_sandbox_says_so(tmp_path, capsys):
    assert main(["sandbox", "password", "--state-dir", str(tmp_path / "none")]) == 1
    assert "sandbox up" in capsys.readouterr().err


def test_sandbox_up_setup_uses_the_password_without_printing_it(machine, tmp_path, capsys, monkeypatch):
    given = []
    monkeypatch.setattr("arcus_tui.verbs.sandbox._setup",
                        lambda result, password, state_dir: given.append(password) or 0)
    code, output = _up(capsys, tmp_path, "--setup")
    password = (tmp_path / "state" / "password").read_text().strip()
    assert code == 0 and given == [password]
    assert password not in output


def test_the_password_option_on_the_command_line_is_gone(tmp_path, capsys):
    """A password in argv is visible to every local user in `ps`; the sandbox makes its own.
    (Parsed only, never run: where the option still exists this would start a real sandbox.)"""
    from arcus_tui.cli import _verb_parser

    parser, _ = _verb_parser()
    with pytest.raises(SystemExit):
        parser.parse_args(["sandbox", "up", "--password", "arcus", "--state-dir", str(tmp_path)])


# --- item 3: a login the sandbox did not make ---------------------------------------------------

@pytest.mark.parametrize("fresh", [False, True])
def test_a_foreign_login_is_refused_before_anything_is_touched(machine, tmp_path, fresh):
    machine.logins["arcus-sb2"] = "Somebody Else,,,"
    state_dir = tmp_path / "state"
    with pytest.raises(SandboxError, match="arcus-sb2.*not made by the sandbox"):
        sandbox_up(3, None, state_dir, fresh=fresh)
    assert machine.events == []  # no useradd, chpasswd, package, stop, wipe, sshd, system sshd change
    assert not state_dir.exists()


def test_without_root_nothing_is_touched_either(machine, tmp_path, monkeypatch):
    monkeypatch.setattr(practice_hosts.os, "geteuid", lambda: 1000)
    with pytest.raises(SandboxError, match="root"):
        sandbox_up(3, None, tmp_path / "state", fresh=True)
    assert machine.events == [] and not (tmp_path / "state").exists()


def test_the_system_sshd_is_protected_before_any_login_is_made(machine, tmp_path):
    sandbox_up(2, None, tmp_path, package=tmp_path / "pkg")
    assert machine.events.index("protect") < machine.events.index("useradd")


# --- item 3: destroy ----------------------------------------------------------------------------

def test_destroy_stops_everything_then_removes_only_the_sandboxs_logins_and_homes(machine, tmp_path, monkeypatch):
    machine.logins.update({"arcus-sb1": SANDBOX_MARK, "arcus-sb2": "Somebody Else", "arcus-sb3": SANDBOX_MARK})
    state_dir = tmp_path / "state"
    sandbox_up(1, None, state_dir, package=tmp_path / "pkg")
    machine.events.clear()
    monkeypatch.setattr(sandbox_module, "sandbox_down", lambda d: machine.events.append("down") or [])
    monkeypatch.setattr(sandbox_module, "remove_protection", lambda: machine.events.append("unprotect") or [])
    monkeypatch.setattr(sandbox_module, "listening", lambda address, port: False)

    report = sandbox_destroy(state_dir)
    removed = [argv for argv in machine.commands if argv[0] == "userdel"]
    assert removed == [["userdel", "--remove", "arcus-sb1"], ["userdel", "--remove", "arcus-sb3"]]
    assert machine.events[:2] == ["down", "stop"]  # everything is stopped before a login goes
    assert "unprotect" in machine.events
    assert "arcus-sb2" in machine.logins  # not ours: left alone, and said so
    assert any("arcus-sb2" in line and "left alone" in line for line in report)
    assert not (state_dir / "password").exists() and not (state_dir / "state.json").exists()


def test_destroy_refuses_while_another_sandbox_serves_the_practice_addresses(machine, tmp_path, monkeypatch):
    machine.logins.update({"arcus-sb1": SANDBOX_MARK})
    monkeypatch.setattr(sandbox_module, "listening", lambda address, port: address == "127.0.1.1")
    with pytest.raises(SandboxError, match="another sandbox"):
        sandbox_destroy(tmp_path / "state")
    assert not any(argv[0] == "userdel" for argv in machine.commands)


def test_destroy_keeps_a_home_that_is_not_where_the_sandbox_put_it(machine, tmp_path, monkeypatch):
    machine.logins.update({"arcus-sb1": SANDBOX_MARK})
    real = machine.getpwnam
    monkeypatch.setattr(practice_hosts.pwd, "getpwnam",
                        lambda name: type("E", (), {"pw_name": name, "pw_gecos": SANDBOX_MARK, "pw_dir": "/srv/data"})()
                        if name == "arcus-sb1" else real(name))
    monkeypatch.setattr(sandbox_module, "listening", lambda address, port: False)
    monkeypatch.setattr(sandbox_module, "remove_protection", lambda: [])
    sandbox_destroy(tmp_path / "state")
    assert ["userdel", "arcus-sb1"] in machine.commands  # the login goes, /srv/data stays


# --- item 3: the machine's own sshd -------------------------------------------------------------

SYSTEM_DEFAULT = """port 22
usepam yes
passwordauthentication yes
kbdinteractiveauthentication no
authenticationmethods any
listenaddress [::]:22
listenaddress 0.0.0.0:22
pidfile /run/sshd.pid
"""


@pytest.fixture
def system(monkeypatch, tmp_path):
    """The system sshd's effective configuration (`sshd -T`), which reads the drop-in when it exists."""
    state = {"config": SYSTEM_DEFAULT, "includes_drop_in": True, "running": None, "reloaded": [], "valid": True}
    drop_in = tmp_path / "sshd_config.d" / "arcus-tui-sandbox.conf"
    drop_in.parent.mkdir()

    def query(user):
        text = state["config"]
        if state["includes_drop_in"] and drop_in.exists():
            for line in drop_in.read_text().splitlines():
                if line.startswith("DenyUsers "):
                    text += "".join(f"denyusers {pattern}\n" for pattern in line.split()[1:])
        return text

    monkeypatch.setattr(system_sshd, "DROP_IN", drop_in)
    monkeypatch.setattr(system_sshd, "_query", query)
    monkeypatch.setattr(system_sshd, "_running_system_sshd", lambda options: state["running"])
    monkeypatch.setattr(system_sshd, "_config_is_valid", lambda: state["valid"])
    monkeypatch.setattr(system_sshd, "_reload", lambda pid: state["reloaded"].append(pid))
    state["drop_in"] = drop_in
    return state


USERS = ["arcus-sb1", "arcus-sb2", "arcus-sb3"]


def test_a_system_sshd_taking_passwords_everywhere_gets_the_practice_logins_denied(system):
    notes = system_sshd.protect_practice_logins(USERS)
    text = system["drop_in"].read_text()
    assert "DenyUsers " + " ".join(f"arcus-sb{n}" for n in range(1, 17)) in text
    assert any(str(system["drop_in"]) in note for note in notes)  # said, not done silently
    assert system_sshd.password_login_risk(system_sshd.effective_options("arcus-sb1"), "arcus-sb1") is None


def test_a_running_system_sshd_is_reloaded_to_take_the_denial(system):
    system["running"] = 4242
    notes = system_sshd.protect_practice_logins(USERS)
    assert system["reloaded"] == [4242]
    assert any("4242" in note and "reload" in note for note in notes)


def test_an_invalid_system_config_is_not_reloaded_and_the_fix_is_named(system):
    system["running"], system["valid"] = 4242, False
    with pytest.raises(SandboxError, match="sshd -t"):
        system_sshd.protect_practice_logins(USERS)
    assert system["reloaded"] == []


def test_without_an_include_of_the_drop_in_sandbox_up_refuses_with_the_exact_fix(system):
    system["includes_drop_in"] = False
    with pytest.raises(SandboxError) as refused:
        system_sshd.protect_practice_logins(USERS)
    message = str(refused.value)
    assert "DenyUsers arcus-sb1" in message and "/etc/ssh/sshd_config" in message
    assert not system["drop_in"].exists()  # no file left that does nothing


@pytest.mark.parametrize("config", [
    SYSTEM_DEFAULT.replace("passwordauthentication yes", "passwordauthentication no"),
    SYSTEM_DEFAULT + "denyusers arcus-sb*\n",
    SYSTEM_DEFAULT + "allowusers admin ops@10.0.0.0/8\n",
    SYSTEM_DEFAULT.replace("listenaddress [::]:22\nlistenaddress 0.0.0.0:22", "listenaddress 127.0.0.1:22"),
    SYSTEM_DEFAULT + "denygroups arcus-sb?\n",
    SYSTEM_DEFAULT.replace("authenticationmethods any", "authenticationmethods publickey"),
])
def test_a_system_sshd_that_already_refuses_them_is_left_alone(system, config):
    system["config"] = config
    assert system_sshd.protect_practice_logins(USERS) == []
    assert not system["drop_in"].exists()


@pytest.mark.parametrize("config", [
    SYSTEM_DEFAULT.replace("passwordauthentication yes", "passwordauthentication no").replace(
        "kbdinteractiveauthentication no", "kbdinteractiveauthentication yes"),  # passwords through PAM
    SYSTEM_DEFAULT + "allowusers arcus-*\n",
    SYSTEM_DEFAULT + "denyusers arcus-sb1@10.0.0.1\n",  # denied from one address only
    SYSTEM_DEFAULT.replace("authenticationmethods any", "authenticationmethods publickey,password"),
])
def test_every_other_way_to_take_a_password_counts(system, config):
    system["config"] = config
    assert system_sshd.password_login_risk(system_sshd.effective_options("arcus-sb1"), "arcus-sb1")


def test_no_system_sshd_config_means_nothing_to_protect(system, monkeypatch):
    monkeypatch.setattr(system_sshd, "_query", lambda user: None)
    assert system_sshd.protect_practice_logins(USERS) == []
    assert not system["drop_in"].exists()


def test_destroy_removes_the_drop_in(system):
    system_sshd.protect_practice_logins(USERS)
    assert system["drop_in"].exists()
    assert system_sshd.remove_protection()
    assert not system["drop_in"].exists()
    assert system_sshd.remove_protection() == []  # idempotent


def test_a_drop_in_of_the_same_name_not_written_by_the_sandbox_is_not_removed(system):
    system["drop_in"].write_text("PermitRootLogin no\n")
    assert system_sshd.remove_protection() == []
    assert system["drop_in"].read_text() == "PermitRootLogin no\n"


@pytest.mark.parametrize("includes_drop_ins", [True, False])
def test_the_denial_is_proven_by_the_real_sshd_reading_its_config(tmp_path, monkeypatch, includes_drop_ins):
    """The real `sshd -T` on a throwaway config shaped like Debian's (nothing of the system's)."""
    sshd = find_sshd()
    if sshd is None or os.geteuid() != 0:
        pytest.skip("needs OpenSSH's sshd and root (sshd -T reads host keys and wants /run/sshd)")
    key = tmp_path / "host_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    drop_ins = tmp_path / "sshd_config.d"
    drop_ins.mkdir()
    config = tmp_path / "sshd_config"
    config.write_text((f"Include {drop_ins}/*.conf\n" if includes_drop_ins else "")
                      + f"HostKey {key}\nUsePAM yes\nKbdInteractiveAuthentication no\n")
    monkeypatch.setattr(system_sshd, "SYSTEM_CONFIG", config)
    monkeypatch.setattr(system_sshd, "DROP_IN", drop_ins / "arcus-tui-sandbox.conf")
    monkeypatch.setattr(system_sshd, "_running_system_sshd", lambda options: None)
    assert system_sshd.password_login_risk(system_sshd.effective_options("arcus-sb1"), "arcus-sb1")
    if includes_drop_ins:
        assert system_sshd.protect_practice_logins(USERS)
        for user in USERS:
            assert system_sshd.password_login_risk(system_sshd.effective_options(user), user) is None
        assert system_sshd.password_login_risk(system_sshd.effective_options("arcus-sb17"), "arcus-sb17")
    else:
        with pytest.raises(SandboxError, match="DenyUsers arcus-sb1 arcus-sb2"):
            system_sshd.protect_practice_logins(USERS)
        assert list(drop_ins.iterdir()) == []


# --- items 5 and 7: down without state, -o over someone's file ----------------------------------

def test_sandbox_down_without_a_state_directory_says_nothing_was_running(tmp_path, capsys):
    code = main(["sandbox", "down", "--state-dir", str(tmp_path / "never-made")])
    out, err = capsys.readouterr()
    assert code == 0 and "nothing was running" in out
    assert "Traceback" not in err and not (tmp_path / "never-made").exists()


@pytest.mark.parametrize("existing, force, overwritten", [
    ("# my own cluster\n[cluster]\n", False, False),
    ("# my own cluster\n[cluster]\n", True, True),
    (None, False, True),
])
def test_sandbox_up_overwrites_only_its_own_cluster_file(machine, tmp_path, capsys, existing, force, overwritten):
    output = tmp_path / "sandbox.toml"
    if existing is not None:
        output.write_text(existing)
    code, text = _up(capsys, tmp_path, *(["--force"] if force else []))
    written = output.read_text()
    assert (written != existing) == overwritten
    if not overwritten:
        assert code == 2 and "--force" in text
        assert machine.events == []  # refused before anything was started
    else:
        assert code == 0, text


def test_sandbox_up_rewrites_the_file_it_wrote_itself(machine, tmp_path, capsys):
    assert _up(capsys, tmp_path)[0] == 0
    first = (tmp_path / "sandbox.toml").read_text()
    (tmp_path / "sandbox.toml").write_text(first.replace("memlimit = 64", "memlimit = 65"))
    assert _up(capsys, tmp_path)[0] == 0
    assert (tmp_path / "sandbox.toml").read_text() == first


# --- item 6: a recorded PID is signalled only when it is still ours ------------------------------

@pytest.fixture
def processes():
    started = []

    def start(*argv):
        process = subprocess.Popen(list(argv), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started.append(process)
        deadline = time.monotonic() + 10  # Popen returns before exec has set up the new command line
        while not Path(f"/proc/{process.pid}/cmdline").read_bytes() and time.monotonic() < deadline:
            time.sleep(0.005)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait()


def _settle(process) -> None:
    """Give a signal, had one been sent, time to land."""
    time.sleep(0.3)


def _me() -> str:
    import pwd

    return pwd.getpwuid(os.geteuid()).pw_name


def test_sandbox_down_leaves_alone_a_process_that_merely_looks_like_sshd(tmp_path, processes):
    """After a reboot the recorded PID can be any process, the system's sshd included."""
    impostor = processes(sys.executable, "-c", "import time; time.sleep(60)", "sshd:", "/usr/sbin/sshd", "-D")
    # a home under tmp_path: sandbox down must find no real practice host's pidfiles here
    host = replace(_local_host(tmp_path), sshd_pid=impostor.pid, sshd_config=str(tmp_path / "sshd" / "sshd_config"))
    practice_hosts.save_state(tmp_path, [host])
    report = sandbox_down(tmp_path)
    _settle(impostor)
    assert impostor.poll() is None, "sandbox down signalled a process it did not start"
    assert any("not signalled" in line for line in report)


def test_sandbox_down_stops_the_sshd_it_started(tmp_path):
    sshd = find_sshd()
    if sshd is None:
        pytest.skip("no OpenSSH server here")
    daemon = start_sshd(tmp_path / "sshd", [("127.0.9.7", 2297)], reap_orphans=False)
    try:
        host = replace(_local_host(tmp_path), sshd_pid=daemon.pid, sshd_config=str(daemon.config_path))
        other = replace(host, sshd_config=str(tmp_path / "elsewhere" / "sshd_config"))
        assert practice_hosts.sshd_is_ours(host) and not practice_hosts.sshd_is_ours(other)
        practice_hosts.save_state(tmp_path, [other])
        sandbox_down(tmp_path)  # the PID is an sshd, but not with this sandbox's config
        assert daemon.is_running()
        practice_hosts.save_state(tmp_path, [host])
        report = sandbox_down(tmp_path)
        assert not daemon.is_running() and any("stopped sshd" in line for line in report)
    finally:
        daemon.stop()


def test_a_state_file_from_before_the_config_was_recorded_still_names_it(tmp_path):
    (tmp_path / "state.json").write_text('{"hosts": [{"number": 1, "name": "cache001.arcus", "address": "127.0.1.1", '
                                         '"user": "arcus-sb1", "home": "/home/arcus-sb1", "sshd_pid": 12}]}')
    (host,) = practice_hosts.load_state(tmp_path)
    assert host.sshd_config == str(tmp_path / "cache001.arcus" / "sshd" / "sshd_config")


def _local_host(tmp_path) -> PracticeHost:
    """A practice host whose home is under tmp_path and whose login is the test's own."""
    return PracticeHost(1, "cache001.arcus", "127.0.1.1", _me(), str(tmp_path / "home"))


def _daemon(*words):
    return (sys.executable, "-c", "import signal, time; signal.signal(signal.SIGINT, signal.SIG_DFL); "
            "signal.signal(signal.SIGUSR2, signal.SIG_IGN); time.sleep(60)", *words)


def _ready(process) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        status = Path(f"/proc/{process.pid}/status").read_text()
        mask = int(next(line for line in status.splitlines() if line.startswith("SigIgn:")).split()[1], 16)
        if mask & (1 << (signal.SIGUSR2 - 1)):
            return
        time.sleep(0.01)


@pytest.mark.parametrize("kind", ["memcached", "zookeeper"])
def test_stopping_the_hosts_leaves_alone_a_process_a_stale_pidfile_names(tmp_path, processes, kind):
    host = _local_host(tmp_path)
    install = Path(host.install_dir)
    pidfile = (install / "pids" / "memcached.11211.pid" if kind == "memcached"
               else install / "zookeeper" / "data" / "zookeeper_server.pid")
    pidfile.parent.mkdir(parents=True)
    stranger = processes("sleep", "30")
    pidfile.write_text(f"{stranger.pid}\n")
    report = practice_hosts.stop_hosts([host], sshd=False)
    _settle(stranger)
    assert stranger.poll() is None, "a process that is not the node was signalled"
    assert any("not signalled" in line for line in report)
    assert not pidfile.exists()


def test_stopping_the_hosts_stops_the_nodes_that_are_theirs(tmp_path, processes):
    host = _local_host(tmp_path)
    install = Path(host.install_dir)
    (install / "pids").mkdir(parents=True)
    (install / "zookeeper" / "data").mkdir(parents=True)
    node = processes(*_daemon(f"{install}/current/bin/memcached", "-p", "11211"))
    member = processes(*_daemon("org.apache.zookeeper.server.quorum.QuorumPeerMain",
                                f"{install}/zookeeper/conf/zoo.cfg"))
    for process in (node, member):
        _ready(process)
    (install / "pids" / "memcached.11211.pid").write_text(f"{node.pid}\n")
    (install / "zookeeper" / "data" / "zookeeper_server.pid").write_text(f"{member.pid}")
    report = practice_hosts.stop_hosts([host], sshd=False)
    # (stop_hosts reaps its own children, so the exit status is not ours to read here)
    assert not Path(f"/proc/{node.pid}").exists() and not Path(f"/proc/{member.pid}").exists()
    assert report == [f"cache001.arcus: stopped memcached.11211 (pid {node.pid})",
                      f"cache001.arcus: stopped zookeeper_server (pid {member.pid})"]
