"""SSH fan-out benchmark: arcus-tui's `exec` engine against the floor, on N loopback hosts.

    python bench/ssh_fanout.py                      # N = 10, 50, 200; writes nothing, prints tables
    python bench/ssh_fanout.py --sizes 10 50 --repeats 3

What runs (all in one run, interleaved, so every ratio compares like with like):
- ours-cold:   `SshSession(targets).run("echo ok")`, connections opened and closed (what
               `arcus-tui exec` does), host keys verified against a known_hosts of N entries;
- floor-cold:  a minimal asyncssh script: gather(connect + run + close) per host, no host
               key check at all (the library's floor);
- ssh-seq:     a plain `ssh user@host echo ok` loop, one host after another (N <= --seq-max);
- ours-warm / floor-warm: a second command over connections already open;
- a sweep of the connect concurrency limit at the largest N;
- pacing: N hosts spread over one sshd left at OpenSSH's default MaxStartups 10:30:100,
  counting the logins each approach loses.

The hosts are 127.0.3.1 ... 127.0.3.N, port 2022, each served by its own private OpenSSH
daemon with its own host key, like separate machines (`--addresses-per-daemon` up to 16
makes one daemon serve several), MaxStartups/MaxSessions raised; the pacing daemon listens on 127.0.3.1-16 port 2023 with
OpenSSH's defaults and one host key. Logins go to a dedicated user with an empty home, so no
shell start-up file is timed. Needs root (to create that user) and openssh-server.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import pwd
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncssh  # noqa: E402

from arcus_tui.localhost import ensure_login  # noqa: E402
from arcus_tui.sandbox.sshd import start_sshd, start_sshd_fleet  # noqa: E402
from arcus_tui.ssh import (  # noqa: E402
    DEFAULT_CONNECT_CONCURRENCY,
    DEFAULT_STARTUPS_PER_SSHD,
    Credentials,
    HostTarget,
    Limits,
    SshPaths,
    SshSession,
    ensure_gateway_key,
)

USER = "arcusbench"
PORT = 2022
PACING_PORT = 2023
COMMAND = "echo ok"


def ensure_user() -> pwd.struct_passwd:
    """The benchmark login (keys only), with a fresh home; one not made by the benchmark is refused."""
    entry = ensure_login(USER, home=f"/home/{USER}", comment="arcus-tui benchmark login", password=None,
                         shell="/bin/bash", create_home=False)
    home = Path(entry.pw_dir)
    if home.exists():
        shutil.rmtree(home)
    home.mkdir(mode=0o755)
    os.chown(home, entry.pw_uid, entry.pw_gid)
    return entry


def authorize(entry: pwd.struct_passwd, public_line: str) -> None:
    ssh_dir = Path(entry.pw_dir) / ".ssh"
    ssh_dir.mkdir(mode=0o700, exist_ok=True)
    (ssh_dir / "authorized_keys").write_text(public_line + "\n")
    for path in (ssh_dir, ssh_dir / "authorized_keys"):
        os.chown(path, entry.pw_uid, entry.pw_gid)
    os.chmod(ssh_dir / "authorized_keys", 0o600)


def addresses(n: int) -> list[str]:
    if n > 254 * 250:
        raise ValueError("too many hosts")
    return [f"127.0.3.{i}" for i in range(1, n + 1)]


class Bench:
    def __init__(self, workdir: Path, paths: SshPaths, key_path: Path):
        self.workdir = workdir
        self.paths = paths
        self.key_path = key_path
        self.keys = asyncssh.load_keypairs([str(key_path)])
        self.cred = Credentials(identity_files=(key_path,), use_agent=False)
        self.retries = 0

    def targets(self, n: int, port: int = PORT, spread: int = 0) -> list[HostTarget]:
        addrs = addresses(spread or n)
        return [HostTarget(f"h{i}", addrs[i % len(addrs)], port, USER) for i in range(n)]

    # -- ours ------------------------------------------------------------------------------------

    async def ours_cold(self, n: int, limit: int = DEFAULT_CONNECT_CONCURRENCY, port: int = PORT,
                        spread: int = 0, per_sshd: int = DEFAULT_STARTUPS_PER_SSHD) -> tuple[float, int]:
        events = []
        started = time.perf_counter()
        limits = Limits(connect_concurrency=limit, startups_per_sshd=per_sshd)
        async with SshSession(self.targets(n, port, spread), paths=self.paths, credentials=self.cred,
                              limits=limits, sink=events.append) as ssh:
            result = await ssh.run(COMMAND)
        elapsed = time.perf_counter() - started
        self.retries = sum(1 for event in events if event.text.endswith("trying again"))
        return elapsed, len(result.failed)

    async def ours_warm(self, n: int) -> float:
        async with SshSession(self.targets(n), paths=self.paths, credentials=self.cred,
                              sink=lambda event: None) as ssh:
            first = await ssh.run(COMMAND)
            assert first.ok, first
            started = time.perf_counter()
            second = await ssh.run(COMMAND)
            elapsed = time.perf_counter() - started
            assert second.ok, second
        return elapsed

    # -- the floor: a bare asyncssh gather ---------------------------------------------------------

    async def floor_cold(self, n: int, port: int = PORT, spread: int = 0) -> tuple[float, int]:
        async def one(target: HostTarget):
            async with asyncssh.connect(target.address, port, username=USER, client_keys=self.keys,
                                        known_hosts=None, config=[]) as conn:
                return await conn.run(COMMAND)

        started = time.perf_counter()
        results = await asyncio.gather(*(one(t) for t in self.targets(n, port, spread)), return_exceptions=True)
        elapsed = time.perf_counter() - started
        return elapsed, sum(1 for r in results if isinstance(r, BaseException) or r.exit_status != 0)

    async def floor_warm(self, n: int) -> float:
        conns = await asyncio.gather(*(
            asyncssh.connect(t.address, PORT, username=USER, client_keys=self.keys, known_hosts=None, config=[])
            for t in self.targets(n)))
        try:
            await asyncio.gather(*(conn.run(COMMAND) for conn in conns))
            started = time.perf_counter()
            results = await asyncio.gather(*(conn.run(COMMAND) for conn in conns))
            elapsed = time.perf_counter() - started
            assert all(r.exit_status == 0 for r in results)
        finally:
            for conn in conns:
                conn.close()
            await asyncio.gather(*(conn.wait_closed() for conn in conns))
        return elapsed

    # -- plain ssh, one host after another ---------------------------------------------------------

    def ssh_seq(self, n: int) -> float:
        base = ["ssh", "-F", "/dev/null", "-i", str(self.key_path), "-o", "BatchMode=yes",
                "-o", f"UserKnownHostsFile={self.paths.known_hosts}", "-o", "StrictHostKeyChecking=yes",
                "-p", str(PORT)]
        started = time.perf_counter()
        for target in self.targets(n):
            subprocess.run(base + [f"{USER}@{target.address}", COMMAND], check=True, capture_output=True,
                           timeout=30)
        return time.perf_counter() - started


def median(values: list[float]) -> float:
    return statistics.median(values)


def fmt(seconds: float) -> str:
    return f"{seconds:.3f}"


async def run_all(args, bench: Bench) -> list[str]:
    out: list[str] = []
    sizes = args.sizes

    def say(line: str = "") -> None:
        print(line, flush=True)
        out.append(line)

    say("### Cold: connect, run `echo ok`, close (median wall seconds)")
    say()
    say("| N | ours (`exec`) | bare asyncssh gather (floor) | ratio ours/floor | sequential `ssh` | repeats |")
    say("|---|---|---|---|---|---|")
    for n in sizes:
        ours, floor, failures = [], [], 0
        for _ in range(args.repeats):
            t, f = await bench.ours_cold(n)
            ours.append(t)
            failures += f
            t, f = await bench.floor_cold(n)
            floor.append(t)
            failures += f
        seq = "not run"
        if n <= args.seq_max:
            seq_times = [bench.ssh_seq(n) for _ in range(args.seq_repeats)]
            seq = f"{fmt(median(seq_times))} ({args.seq_repeats} runs)"
        assert failures == 0, f"{failures} failed logins at N={n}"
        say(f"| {n} | {fmt(median(ours))} | {fmt(median(floor))} | {median(ours) / median(floor):.2f} | {seq} "
            f"| {args.repeats} |")
    say()
    say("### Warm: a second `echo ok` over connections already open (median wall seconds)")
    say()
    say("| N | ours (`SshSession.run`, 2nd step) | bare asyncssh on open connections (floor) | ratio |")
    say("|---|---|---|---|")
    for n in sizes:
        ours, floor = [], []
        for _ in range(args.repeats):
            ours.append(await bench.ours_warm(n))
            floor.append(await bench.floor_warm(n))
        say(f"| {n} | {fmt(median(ours))} | {fmt(median(floor))} | {median(ours) / median(floor):.2f} |")
    say()
    top = max(sizes)
    say(f"### Connect concurrency limit at N = {top} (raised MaxStartups; median wall seconds, cold)")
    say()
    say("| limit | ours | floor (same run) | ratio |")
    say("|---|---|---|---|")
    for limit in args.limits:
        ours, floor = [], []
        for _ in range(args.sweep_repeats):
            ours.append((await bench.ours_cold(top, limit=limit))[0])
            floor.append((await bench.floor_cold(top))[0])
        mark = " (default)" if limit == DEFAULT_CONNECT_CONCURRENCY else ""
        say(f"| {limit}{mark} | {fmt(median(ours))} | {fmt(median(floor))} | {median(ours) / median(floor):.2f} |")
    say()
    say(f"### Pacing: {top} hosts on one sshd with OpenSSH's default MaxStartups 10:30:100 "
        f"(16 addresses, port {PACING_PORT})")
    say()
    say("| approach | failed logins per run | logins retried per run | median wall seconds |")
    say("|---|---|---|---|")
    rows = [(f"ours, defaults ({DEFAULT_CONNECT_CONCURRENCY} at once, {DEFAULT_STARTUPS_PER_SSHD} per sshd)",
             lambda: bench.ours_cold(top, port=PACING_PORT, spread=16)),
            ("ours, 8 per sshd",
             lambda: bench.ours_cold(top, per_sshd=8, port=PACING_PORT, spread=16)),
            ("ours, 10 per sshd",
             lambda: bench.ours_cold(top, per_sshd=10, port=PACING_PORT, spread=16)),
            ("bare asyncssh gather", lambda: bench.floor_cold(top, port=PACING_PORT, spread=16))]
    for label, action in rows:
        times, fails, retries = [], [], []
        for _ in range(args.sweep_repeats):
            bench.retries = 0
            t, f = await action()
            times.append(t)
            fails.append(f)
            retries.append(bench.retries)
        retried = ", ".join(map(str, retries)) if label.startswith("ours") else "-"
        say(f"| {label} | {', '.join(map(str, fails))} | {retried} | {fmt(median(times))} |")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 50, 200])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seq-max", type=int, default=50, help="largest N for the sequential ssh loop")
    parser.add_argument("--seq-repeats", type=int, default=3)
    parser.add_argument("--limits", type=int, nargs="+", default=[4, 8, 16, 32, 200])
    parser.add_argument("--sweep-repeats", type=int, default=3)
    parser.add_argument("--addresses-per-daemon", type=int, default=1,
                        help="hosts served by one sshd (1 = one daemon per host, like separate machines)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("needs root (creates the benchmark login user)", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="arcus-ssh-bench-"))
    daemons = []
    try:
        entry = ensure_user()
        paths = SshPaths.under(workdir / "gateway")
        paths.key_dir.mkdir(mode=0o700)
        key = ensure_gateway_key(paths.key_dir)
        authorize(entry, key.public_line)
        top = max(args.sizes)
        daemons += start_sshd_fleet(workdir / "fleet", [(a, PORT) for a in addresses(top)],
                                    max_startups="1000", max_sessions=64, allow_users=[USER],
                                    password_auth=False, share_host_key=False,
                                    addresses_per_daemon=args.addresses_per_daemon)
        daemons.append(start_sshd(workdir / "pacing", [(a, PACING_PORT) for a in addresses(16)],
                                  allow_users=[USER], password_auth=False))
        lines = []
        for daemon in daemons:
            lines += daemon.known_hosts_lines()
        paths.known_hosts.write_text("\n".join(lines) + "\n")
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
              f"asyncssh {asyncssh.__version__}, {subprocess.run(['ssh', '-V'], capture_output=True, text=True).stderr.strip()}")
        print(f"command: python bench/ssh_fanout.py {' '.join(sys.argv[1:])}".rstrip())
        print()
        asyncio.run(run_all(args, Bench(workdir, paths, key.path)))
    finally:
        for daemon in daemons:
            daemon.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
