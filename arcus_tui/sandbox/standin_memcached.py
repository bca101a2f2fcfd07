"""STAND-IN for arcus-memcached: the practice package's `bin/memcached` only when asked
(`sandbox up --standin`, for a machine with no arcus-memcached source to build) and in a
few tests; the sandbox otherwise runs the real daemon. It accepts the real ARCUS command line, runs the
stock memcached for the cache itself, and does what arcus-memcached does in
ZooKeeper (arcus_zk.c; docs/arcus.md#how-a-node-joins):

1. find its own IP (ARCUS_CACHE_PUBLIC_IP, else the -l address, else the host's);
2. sync /arcus/cache_server_mapping and read the single child of
   `<ip>:<port>` (fallbacks `<hostname>:<port>`, then `<ip>`): the service code;
   no mapping -> refuse to start;
3. create the ephemeral /arcus/cache_list/<svc>/<ip>:<port>-<hostname> with data
   `<memlimit>MB`, and log `join` under /arcus/cache_server_log/<date>/.

It is ONE process to the outside, like arcus-memcached: the pid in -P is this
supervisor; SIGINT/SIGTERM stop memcached and leave ZooKeeper; if memcached dies
(even by kill -9) the supervisor closes its session and exits, so the node drops
out of cache_list; if the supervisor is killed, memcached dies with it
(PR_SET_PDEATHSIG) and the ZooKeeper session expires. A lost session is not
quietly rejoined: the node shuts down, as arcus-memcached does.

With -d, the command returns only once the node has joined (exit 0) or failed
(exit 1 with the reason), so the caller sees the outcome.
"""

from __future__ import annotations

import argparse
import ctypes
import datetime
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time

STOCK_MEMCACHED = os.environ.get("ARCUS_STANDIN_MEMCACHED", "/usr/bin/memcached")
LISTEN_WAIT_SECONDS = 10.0
ZK_CONNECT_SECONDS = 15.0
ZK_SESSION_SECONDS = 30.0  # arcus-memcached's default session timeout
CACHE_SERVER_MAPPING = "/arcus/cache_server_mapping"
CACHE_LIST = "/arcus/cache_list"
CACHE_SERVER_LOG = "/arcus/cache_server_log"


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="memcached (arcus-tui stand-in)", add_help=False)
    parser.add_argument("-E", dest="engine")  # ARCUS engine .so: nothing to load here
    parser.add_argument("-X", dest="extensions", action="append", default=[])
    parser.add_argument("-z", dest="zookeeper", required=True)
    parser.add_argument("-d", dest="daemon", action="store_true")
    parser.add_argument("-P", dest="pidfile")
    parser.add_argument("-p", dest="port", type=int, default=11211)
    parser.add_argument("-l", dest="listen")
    parser.add_argument("-m", dest="memlimit", type=int, default=64)
    parser.add_argument("-c", dest="connections", type=int, default=1024)
    parser.add_argument("-t", dest="threads", type=int, default=4)
    parser.add_argument("-U", dest="udp_port", default="0")
    parser.add_argument("-u", dest="user")
    parser.add_argument("-b", dest="backlog")
    parser.add_argument("-R", dest="reqs_per_event")
    parser.add_argument("-D", dest="delimiter")
    parser.add_argument("-v", dest="verbose", action="count", default=0)
    parser.add_argument("-r", dest="coredumps", action="store_true")
    parser.add_argument("-o", dest="session_timeout", type=float, default=ZK_SESSION_SECONDS)
    # -R5 and -D: arrive glued to their values; argparse splits short options itself.
    return parser.parse_args(argv)


def stock_command(args: argparse.Namespace) -> list[str]:
    command = [STOCK_MEMCACHED, "-p", str(args.port), "-m", str(args.memlimit), "-c", str(args.connections),
               "-t", str(args.threads), "-U", str(args.udp_port)]
    for flag, value in (("-l", args.listen), ("-u", args.user), ("-b", args.backlog),
                        ("-R", args.reqs_per_event), ("-D", args.delimiter)):
        if value:
            command += [flag, value]
    if args.coredumps:
        command.append("-r")
    return command + ["-v"] * min(args.verbose, 1)


def own_ip(args: argparse.Namespace) -> str:
    if os.environ.get("ARCUS_CACHE_PUBLIC_IP"):
        return os.environ["ARCUS_CACHE_PUBLIC_IP"]
    if args.listen:
        return args.listen
    return socket.gethostbyname(socket.gethostname())


def die_with_parent() -> None:
    """In the memcached child: get SIGKILL when the supervisor dies, however it dies."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    PR_SET_PDEATHSIG = 1
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def wait_listening(address: str, port: int, child: subprocess.Popen) -> None:
    # Not arcus_tui.localhost.wait_listening: this file runs alone on a practice host, as its
    # bin/memcached, with the standard library and kazoo only.
    deadline = time.monotonic() + LISTEN_WAIT_SECONDS
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise RuntimeError(f"memcached exited with status {child.returncode} before listening")
        try:
            with socket.create_connection((address, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"memcached did not listen on {address}:{port} within {LISTEN_WAIT_SECONDS:g}s")


def find_service_code(client, ip: str, hostname: str, port: int) -> str:
    client.sync(CACHE_SERVER_MAPPING)
    for name in (f"{ip}:{port}", f"{hostname}:{port}", ip):
        path = f"{CACHE_SERVER_MAPPING}/{name}"
        if client.exists(path):
            children = client.get_children(path)
            if len(children) == 1:
                return children[0]
            raise RuntimeError(f"{path} has {len(children)} children; expected exactly one service code")
    raise RuntimeError(f"no mapping for {ip}:{port} under {CACHE_SERVER_MAPPING}: register the service code first")


def join(client, service_code: str, ip: str, hostname: str, port: int, memlimit: int) -> str:
    from kazoo.exceptions import NodeExistsError

    name = f"{ip}:{port}-{hostname}"
    path = f"{CACHE_LIST}/{service_code}/{name}"
    try:
        client.create(path, f"{memlimit}MB".encode(), ephemeral=True)
    except NodeExistsError:
        raise RuntimeError(f"{path} already exists: another process holds this node") from None
    day = datetime.date.today().isoformat()
    client.create(f"{CACHE_SERVER_LOG}/{day}/{name}-", b"join", sequence=True, makepath=True)
    return path


class Supervisor:
    def __init__(self, args: argparse.Namespace, ready_fd: int | None):
        self.args = args
        self.ready_fd = ready_fd
        self.stopping = threading.Event()
        self.child: subprocess.Popen | None = None
        self.client = None

    def report(self, message: str, ok: bool) -> None:
        """Tell the foreground parent (with -d) how starting went; log it either way."""
        print(("" if ok else "error: ") + message, file=sys.stderr, flush=True)
        if self.ready_fd is not None:
            os.write(self.ready_fd, (("OK " if ok else "ERR ") + message).encode())
            os.close(self.ready_fd)
            self.ready_fd = None

    def start(self) -> None:
        from kazoo.client import KazooClient, KazooState

        args = self.args
        ip = own_ip(args)
        hostname = socket.gethostname()
        self.child = subprocess.Popen(stock_command(args), preexec_fn=die_with_parent,
                                      stdin=subprocess.DEVNULL)
        wait_listening(args.listen or "127.0.0.1", args.port, self.child)
        self.client = KazooClient(hosts=args.zookeeper, timeout=args.session_timeout)
        self.client.start(timeout=ZK_CONNECT_SECONDS)
        self.client.add_listener(lambda state: state == KazooState.LOST and self.stop("ZooKeeper session lost"))
        service_code = find_service_code(self.client, ip, hostname, args.port)
        path = join(self.client, service_code, ip, hostname, args.port, args.memlimit)
        self.report(f"joined {path} (stand-in for arcus-memcached; stock memcached pid {self.child.pid})", ok=True)

    def stop(self, reason: str) -> bool:
        if not self.stopping.is_set():
            print(f"stopping: {reason}", file=sys.stderr, flush=True)
            self.stopping.set()
        return False

    def run(self) -> int:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: self.stop("signal"))
        try:
            self.start()
        except Exception as error:  # every failure becomes one clear line for the operator
            self.shutdown()
            self.report(str(error) or type(error).__name__, ok=False)
            return 1
        while not self.stopping.wait(0.2):
            if self.child.poll() is not None:
                self.stop(f"memcached exited with status {self.child.returncode}")
        self.shutdown()
        return 0

    def shutdown(self) -> None:
        self.stopping.set()  # our own close below must not read as a lost session
        if self.client is not None:
            try:
                self.client.stop()  # closing the session removes the ephemeral cache_list node now
                self.client.close()
            except Exception:
                pass
        if self.child is not None and self.child.poll() is None:
            self.child.terminate()
            try:
                self.child.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.child.kill()
        if self.args.pidfile:
            try:
                with open(self.args.pidfile) as handle:
                    if handle.read().strip() == str(os.getpid()):
                        os.unlink(self.args.pidfile)
            except OSError:
                pass


def daemonize(args: argparse.Namespace) -> tuple[int | None, int | None]:
    """Fork into the background. In the foreground parent: (its exit code, None),
    once the daemon has reported. In the daemon: (None, the fd to report on)."""
    read_fd, write_fd = os.pipe()
    if os.fork() > 0:
        os.close(write_fd)
        message = b""
        deadline = time.monotonic() + LISTEN_WAIT_SECONDS + ZK_CONNECT_SECONDS + 5
        while (remaining := deadline - time.monotonic()) > 0:
            if not select.select([read_fd], [], [], remaining)[0]:
                break
            chunk = os.read(read_fd, 4096)
            if not chunk:
                break
            message += chunk
        text = message.decode(errors="replace") or "ERR the node exited before joining (see logs/memcached.*.log)"
        print(text.removeprefix("OK ").removeprefix("ERR "), file=sys.stdout if text.startswith("OK") else sys.stderr)
        return (0 if text.startswith("OK") else 1), None
    os.close(read_fd)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    package_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    # started as <install_dir>/current/bin/memcached (deploy/releases.py): logs stay in <install_dir>/logs
    install_dir = os.path.dirname(package_dir) if os.path.basename(package_dir) == "current" else package_dir
    log_dir = os.path.join(install_dir, "logs")
    os.makedirs(log_dir, exist_ok=True)
    log = os.open(os.path.join(log_dir, f"memcached.{args.port}.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)  # detach from the SSH channel, which would otherwise stay open
    os.close(null)
    os.close(log)
    return None, write_fd


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse_arguments(sys.argv[1:] if argv is None else argv)
    except SystemExit:
        return 2
    ready_fd = None
    if args.daemon:
        exit_code, ready_fd = daemonize(args)
        if exit_code is not None:
            return exit_code
    if args.pidfile:
        with open(args.pidfile, "w") as handle:
            handle.write(f"{os.getpid()}\n")
    code = Supervisor(args, ready_fd).run()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # everything is closed; skip joining kazoo's threads at interpreter exit


if __name__ == "__main__":
    sys.exit(main())
