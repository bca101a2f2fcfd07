"""Keep the machine's own sshd from accepting the practice logins.

The practice logins (`arcus-sb1` .. `arcus-sb16`) are real accounts with a password and a
shell, meant for the sandbox's private sshd on 127.0.1.x:2222 only. The system sshd that
`scripts/install` installs takes passwords on every interface (OpenSSH's defaults), so it
would let them in from anywhere. Before any login is made, `sandbox up` asks the system
sshd's own effective configuration (`sshd -T -C user=<login>,addr=<a remote address>`,
which applies every Include and Match) whether a password login as each of them from
elsewhere would be allowed. If so it writes DROP_IN (`DenyUsers arcus-sb1 .. arcus-sb16`),
says so, asks again, and reloads a running system sshd (SIGHUP after `sshd -t`, which is
what `systemctl reload ssh` does) so that the denial holds now, not after a reboot. When
the drop-in is not read (no `Include /etc/ssh/sshd_config.d/*.conf`), nothing is left
behind and `sandbox up` refuses with the exact line to add. `sandbox destroy` removes the
drop-in. The sandbox's own sshd reads only its private config, so it is not affected.
"""

from __future__ import annotations

import ipaddress
import os
import re
import signal
import subprocess
from pathlib import Path
from typing import Optional, Sequence

from .practice_hosts import MAX_PRACTICE_HOSTS, SandboxError, practice_login
from .sshd import find_sshd, sshd_command_line

SYSTEM_CONFIG = Path("/etc/ssh/sshd_config")
DROP_IN = Path("/etc/ssh/sshd_config.d/arcus-tui-sandbox.conf")
DROP_IN_MARK = "# written by `arcus-tui sandbox up`"
PROBE_HOST, PROBE_ADDRESS = "gateway.invalid", "192.0.2.1"  # TEST-NET-1: "some other machine"

PRACTICE_LOGINS = tuple(practice_login(number) for number in range(1, MAX_PRACTICE_HOSTS + 1))
DENY_LINE = "DenyUsers " + " ".join(PRACTICE_LOGINS)  # exact names: no other account is caught

Options = dict[str, list[str]]


def protect_practice_logins(users: Sequence[str]) -> list[str]:
    """Make sure the system sshd refuses every login of `users`; what was changed, one line
    each (nothing when it already refuses them). SandboxError when that cannot be made sure."""
    risks = _risks(users)
    if not risks:
        return []
    user, risk = risks[0]
    if not _write_drop_in():
        raise SandboxError(_fix(user, risk, f"{DROP_IN} cannot be written (it exists and is not the sandbox's, "
                                            "or its directory does not exist)"))
    if _risks(users):
        DROP_IN.unlink(missing_ok=True)  # it is not read: leave nothing behind that does nothing
        raise SandboxError(_fix(user, risk, f"it does not read {DROP_IN.parent}/*.conf"))
    notes = [f"the system sshd would have accepted a password for {user} ({risk}); wrote {DROP_IN} "
             f"({DENY_LINE.split()[0]} {PRACTICE_LOGINS[0]} .. {PRACTICE_LOGINS[-1]}) so that only the sandbox's "
             "own sshd lets them in; `arcus-tui sandbox destroy` removes it"]
    pid = _running_system_sshd(effective_options(user) or {})
    if pid is not None:
        if not _config_is_valid():
            raise SandboxError(f"the running system sshd (pid {pid}) still has its old configuration, and "
                               f"`sshd -t -f {SYSTEM_CONFIG}` reports a problem, so it was not reloaded: fix "
                               "that, reload it (`systemctl reload ssh`), then run `arcus-tui sandbox up` again")
        _reload(pid)
        notes.append(f"reloaded the running system sshd (pid {pid}; SIGHUP, as `systemctl reload ssh` does) "
                     "so that the denial holds now; open sessions are not affected")
    return notes


def remove_protection() -> list[str]:
    """Remove the drop-in `protect_practice_logins` wrote (only that file, only if it is ours)."""
    try:
        text = DROP_IN.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        return []
    if not text.startswith(DROP_IN_MARK):
        return []
    DROP_IN.unlink()
    return [f"removed {DROP_IN}"]


def _risks(users: Sequence[str]) -> list[tuple[str, str]]:
    """(login, why) for each login the system sshd would take a password for."""
    risks = []
    for user in users:
        options = effective_options(user)
        reason = password_login_risk(options, user) if options is not None else None
        if reason:
            risks.append((user, reason))
    return risks


def effective_options(user: str) -> Optional[Options]:
    """`sshd -T` of the system config for a login as `user` from another machine, as
    keyword -> values (a keyword given several times has several); None without a system
    sshd config (no system sshd can run, so none can accept the logins)."""
    text = _query(user)
    if text is None:
        return None
    options: Options = {}
    for line in text.splitlines():
        keyword, _, value = line.strip().partition(" ")
        if keyword:
            options.setdefault(keyword.lower(), []).append(value.strip())
    return options


def password_login_risk(options: Options, user: str) -> Optional[str]:
    """Why the system sshd with `options` would let `user` in with a password from another
    machine, or None when it would not. Unknown or partial denials count as a risk."""
    methods = _password_methods(options)
    if not methods or _denied(options, user):
        return None
    listen = [value.split()[0] for value in options.get("listenaddress", []) if value]
    if listen and all(_is_loopback(_listen_host(address)) for address in listen):
        return None  # reachable from this machine only, where the password is root's alone
    return f"{' and '.join(methods)}, listening on {', '.join(listen) or 'every address'}"


def _first(options: Options, keyword: str, default: str = "") -> str:
    return (options.get(keyword) or [default])[0].lower()


def _password_methods(options: Options) -> list[str]:
    methods = []
    if _first(options, "passwordauthentication") == "yes":
        methods.append("PasswordAuthentication yes")
    if _first(options, "usepam") == "yes" and "yes" in (_first(options, "kbdinteractiveauthentication"),
                                                        _first(options, "challengeresponseauthentication")):
        methods.append("KbdInteractiveAuthentication yes with PAM")
    required = _first(options, "authenticationmethods", "any")
    if required != "any" and not re.search(r"(^|[ ,])(password|keyboard-interactive)", required):
        return []  # every allowed way in needs something else (a key)
    return methods


def _denied(options: Options, user: str) -> bool:
    """DenyUsers/AllowUsers/DenyGroups/AllowGroups keep `user` (whose group is its own name,
    as useradd makes it) out from every address. A pattern limited to some hosts (user@host)
    denies nothing for sure; for AllowUsers it may allow, so it counts as allowing."""
    def words(keyword):
        return [word for value in options.get(keyword, []) for word in value.split()]

    if any("@" not in pattern and _ssh_match(pattern, user) for pattern in words("denyusers")):
        return True
    allowed = words("allowusers")
    if allowed and not any(_ssh_match(pattern.split("@")[0], user) for pattern in allowed):
        return True
    if any(_ssh_match(pattern, user) for pattern in words("denygroups")):
        return True
    allowed_groups = words("allowgroups")
    return bool(allowed_groups) and not any(_ssh_match(pattern, user) for pattern in allowed_groups)


def _ssh_match(pattern: str, name: str) -> bool:
    """OpenSSH's match_pattern: `*` and `?` are wildcards, nothing else is special."""
    regex = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.fullmatch(regex, name) is not None


def _listen_host(address: str) -> str:
    if address.startswith("["):
        return address[1:address.find("]")]
    host, colon, _ = address.rpartition(":")
    return host if colon and ":" not in host else address


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name: assume it is reachable


def _fix(user: str, risk: str, why_not: str) -> str:
    return (f"the system sshd ({SYSTEM_CONFIG}) would accept a password for the practice login {user} from "
            f"other machines ({risk}), and the sandbox cannot prevent it: {why_not}. Add this line to "
            f"{SYSTEM_CONFIG}, above any Match block, reload it (`systemctl reload ssh`), then run "
            f"`arcus-tui sandbox up` again:\n    {DENY_LINE}")


def _write_drop_in() -> bool:
    """Write DROP_IN unless a file of that name that is not ours is there; False if it cannot be."""
    try:
        if DROP_IN.exists() and not DROP_IN.read_text(encoding="utf-8").startswith(DROP_IN_MARK):
            return False
        DROP_IN.write_text(
            f"{DROP_IN_MARK}: the practice logins are for the sandbox's own sshd on 127.0.1.x:2222\n"
            "# only; this sshd must never let them in. `arcus-tui sandbox destroy` removes this file.\n"
            f"{DENY_LINE}\n", encoding="utf-8")
        DROP_IN.chmod(0o644)
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return False
    return True


def _query(user: str) -> Optional[str]:
    """The output of `sshd -T` for `user` logging in from PROBE_ADDRESS; None without a system
    config or sshd binary."""
    sshd = find_sshd()
    if sshd is None or not SYSTEM_CONFIG.exists():
        return None
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd -T insists on its privsep directory
    result = subprocess.run([sshd, "-T", "-f", str(SYSTEM_CONFIG),
                             "-C", f"user={user},host={PROBE_HOST},addr={PROBE_ADDRESS}"],
                            capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        problem = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise SandboxError(f"cannot tell whether the system sshd would accept the practice logins: "
                           f"`sshd -T -f {SYSTEM_CONFIG}` failed ({problem}). Fix that, or make sure it "
                           f"refuses them (add `{DENY_LINE}` to {SYSTEM_CONFIG}), then run sandbox up again")
    return result.stdout


def _running_system_sshd(options: Options) -> Optional[int]:
    """The PID of the running system sshd (from its PidFile, proven to be an sshd that reads
    the system config), or None when none runs (or runs socket-activated, reading its config
    at every connection)."""
    pidfile = Path((options.get("pidfile") or ["/run/sshd.pid"])[0])
    try:
        pid = int(pidfile.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    command_line = sshd_command_line(pid) if pid > 0 else None
    if command_line is None:
        return None
    if " -f " in f" {command_line} " and f" -f {SYSTEM_CONFIG} " not in f" {command_line} ":
        return None  # an sshd with a config of its own (a sandbox's): not the system's
    return pid


def _config_is_valid() -> bool:
    sshd = find_sshd()
    return sshd is not None and subprocess.run([sshd, "-t", "-f", str(SYSTEM_CONFIG)], capture_output=True,
                                               timeout=30).returncode == 0


def _reload(pid: int) -> None:
    os.kill(pid, signal.SIGHUP)  # sshd re-executes itself and rereads its config; sessions stay
