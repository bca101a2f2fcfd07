"""Growing a live cloud by one host against a fresh setup of one host, on the practice sandbox.

    python bench/grow.py [--runs 3]      (root; the real arcus-memcached, built once and cached)

Both contenders set up the same practice host (127.0.1.4, two memcached nodes) with the
gateway key already in place, through `arcus-tui setup` in this process:
- "grow": the running three-host cloud's file plus that host. Setup runs only the
  difference: the package upload, two registrations in one transaction, two node starts.
- "fresh": that host as a cloud of its own from nothing: the package, a standalone
  ZooKeeper, its leader, /arcus, the register, two node starts.
The host is emptied (its processes stopped, its install dir removed) before each
contender, and the contenders alternate. The ratio grow/fresh is per run, medians over runs.
Everything runs on 127.0.1.x and is stopped (`sandbox down`) at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from arcus_tui.cli import main as arcus_tui  # noqa: E402
from arcus_tui.model.toml_writer import dump_cluster  # noqa: E402
from arcus_tui.package import cached_package  # noqa: E402
from arcus_tui.sandbox.arcus_source import find_arcus_source, how_to_get_it  # noqa: E402
from arcus_tui.sandbox.sandbox import exclusive_use, sandbox_cluster, sandbox_down, sandbox_up  # noqa: E402

PASSWORD = "grow-bench-pw"
SOLO_SERVICE = "grow-bench-solo"


def cli(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = arcus_tui(list(argv))
    return code, out.getvalue()


def must(*argv: str) -> float:
    began = time.monotonic()
    code, said = cli(*argv)
    if code != 0:
        raise SystemExit(f"`arcus-tui {' '.join(argv[:2])}` failed ({code}):\n" + "\n".join(said.splitlines()[-20:]))
    return time.monotonic() - began


def empty_host(user: str, files: list[str], access: list[str]) -> None:
    """Stop whatever of ours runs on the spare host (by pidfile, through the verbs) and remove its install."""
    for file in files:
        cli("stop", file, "--host", "spare", "--yes", "--force", *access)
    shutil.rmtree(f"/home/{user}/arcus", ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("needs root: the practice hosts are logins of this machine")
    source = find_arcus_source()
    if source is None:
        raise SystemExit(how_to_get_it())
    package = cached_package(source)
    state = Path(tempfile.mkdtemp(prefix="grow-bench-"))
    results = {"grow": [], "fresh": []}
    with exclusive_use():
        up = sandbox_up(4, PASSWORD, state / "sandbox", fresh=True, package=package)
        try:
            ssh_dir = state / "ssh"
            ssh_dir.mkdir(mode=0o700)
            access = ["--ssh-dir", str(ssh_dir)] + [a for h in up.hosts for a in ("--trust-host-key", h.host_key_fingerprint)]
            password = ["--password-file", str(up.password_file)]
            three, four = sandbox_cluster(up.hosts[:3], package), sandbox_cluster(up.hosts, package)
            spare = replace(four.hosts[3], name="spare")
            four = replace(four, hosts=four.hosts[:3] + (spare,))
            solo = replace(four, service_code=SOLO_SERVICE, hosts=(replace(spare, zookeeper=True),))
            files = {}
            for name, cluster in (("three", three), ("four", four), ("solo", solo)):
                files[name] = str(state / f"{name}.toml")
                Path(files[name]).write_text(dump_cluster(cluster))
            print(f"warm-up: the three-host cloud, and the key copied to all four hosts ({state})", flush=True)
            must("setup", files["three"], "--yes", *password, *access)
            for run in range(args.runs):
                order = ("grow", "fresh") if run % 2 == 0 else ("fresh", "grow")
                for contender in order:
                    empty_host(spare.user, [files["four"], files["solo"]], access)
                    if contender == "grow":
                        results["grow"].append(must("setup", files["four"], "--yes", *password, *access))
                        must("remove", files["four"], "--host", "spare", "--yes", "--keep-file", *access)
                    else:
                        results["fresh"].append(must("setup", files["solo"], "--yes", *password, *access))
                        must("unregister", files["solo"], "--yes", "--stop-nodes", *access)
                        must("stop", files["solo"], "zookeeper", "--yes", "--force", *access)
                    print(f"run {run + 1}: {contender} {results[contender][-1]:.2f}s", flush=True)
            empty_host(spare.user, [files["four"], files["solo"]], access)
        finally:
            sandbox_down(state / "sandbox")
    ratios = [grow / fresh for grow, fresh in zip(results["grow"], results["fresh"])]
    summary = {"command": f"python bench/grow.py --runs {args.runs}", "grow_seconds": results["grow"],
               "fresh_seconds": results["fresh"], "grow_over_fresh": ratios,
               "median_ratio": statistics.median(ratios), "load": os.getloadavg()}
    print(json.dumps(summary, indent=2))
    (REPO / "bench" / "results" / "grow.json").write_text(json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
