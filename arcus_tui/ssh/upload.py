"""Upload a file, a directory or a tarball to every host's install directory over SFTP, all hosts at once.

(Over 400 lines on purpose: one exchange per host, compare checksums, write beside and rename,
unpack, whose steps share the open SFTP channel and the list of what changed.)

- A file goes to `<dest>/<its name>`; a directory's contents go under `<dest>/`
  (like `rsync src/ dest/`); a tarball (`.tar`, `.tar.gz`, `.tgz`, `.tar.bz2`, `.tar.xz`)
  is uploaded to `<dest>/.arcus-tui/` and unpacked into `<dest>`.
- Before sending, each host is asked for the sha256 of the files it already has
  (`sha256sum`); files whose content is unchanged are skipped, so a second deploy
  uploads nothing (the host reports ALREADY_DONE). A tarball is unpacked again only
  when it changed (a stamp file records the unpacked checksum).
- Each file is written to a temporary name and renamed over the old one, so a
  running binary is replaced safely and an interrupted upload never leaves half a file.
  The temporary name has 128 random bits and is created exclusively (nothing planted there
  is followed); its data is fsynced before the rename (`fsync@openssh.com`), so a crash of
  the host leaves the old file or the new one, never an empty one. The local file's
  permission bits are applied.
- Symbolic links in a package directory: one that leads outside the package, or nowhere,
  refuses the whole upload before anything is sent (gateway files outside the package are
  never read); one to a file inside the package is sent as a copy of that file (the host gets
  a regular file); one to a directory is not followed (as before), and the host's log says so.
- A transfer that stops moving (no byte acknowledged for `stall_timeout` s) fails that host;
  cancelling returns at once, cutting the connection of a host that no longer answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import posixpath
import secrets
import shlex
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Mapping, Optional, Union

import asyncssh

from arcus_tui.checksums import file_sha256
from arcus_tui.events import EventSink, HostState

from .errors import CommandTimeout, ConnectionDropped, SshHostError
from .results import HostResult, RunResult
from .session import HostWork, SshSession

TARBALL_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
STATE_DIR = ".arcus-tui"
DEFAULT_STALL_TIMEOUT = 60.0
"""A transfer with no byte acknowledged for this long is given up: the host is hung."""
BLOCK = 256 << 10
"""Bytes per SFTP write request (less if the server says so); the stall watch sees each one land."""
IN_FLIGHT = 32
"""Write requests outstanding at once per file: 8 MiB in flight keeps a long link busy."""
STOP_GRACE = 0.25
"""After a cancel, how long a transfer may take to wind down before its connection is cut."""


@dataclass(frozen=True)
class LocalFile:
    rel: str  # POSIX path under the destination directory
    path: Path
    size: int
    sha256: str
    mode: int


class UnsafePackage(ValueError):
    """The package has symbolic links leading outside it (or nowhere): nothing is uploaded."""

    def __init__(self, source: Path, links: list[str]):
        self.links = links
        shown = ", ".join(links[:5]) + (f" and {len(links) - 5} more" if len(links) > 5 else "")
        super().__init__(f"not uploaded: {source} has symbolic links that lead outside the package or "
                         f"nowhere ({shown}); put the files themselves in the package, or remove the links")


def is_tarball(path: Union[str, Path]) -> bool:
    return str(path).lower().endswith(TARBALL_SUFFIXES)


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def scan_package(source: Path, *, under: str = "") -> tuple[list[LocalFile], list[str]]:
    """The files an upload of `source` sends, with checksums (computed once for all hosts), and a
    note for each link to a directory that is not followed. Raises `UnsafePackage` for links out."""
    source = Path(source)
    notes: list[str] = []
    if source.is_file():  # the operator named this file (a link too): it is what they mean to send
        pairs = [(posixpath.join(under, source.name) if under else source.name, source)]
    elif source.is_dir():
        pairs, notes = _package_files(source)
    else:
        raise FileNotFoundError(f"{source} does not exist")
    result = []
    for rel, path in pairs:
        if "\n" in rel or "\\" in rel:
            raise ValueError(f"{path}: file names with newlines or backslashes are not supported")
        stat = path.stat()
        result.append(LocalFile(rel, path, stat.st_size, file_sha256(path), stat.st_mode & 0o7777))
    return result, notes


def _package_files(source: Path) -> tuple[list[tuple[str, Path]], list[str]]:
    """(relative name, real path) of each file under `source`. A link is resolved against the
    package's real root: to a file inside, the real file is read; out of it (or dangling), refused."""
    root = source.resolve()
    pairs: list[tuple[str, Path]] = []
    notes: list[str] = []
    unsafe: list[str] = []
    for top, dirs, files in os.walk(source):  # followlinks=False: links to directories are not walked
        dirs.sort()
        for name in sorted(dirs):
            path = Path(top) / name
            if path.is_symlink():
                rel = path.relative_to(source).as_posix()
                real = path.resolve()
                if not real.exists() or not _inside(real, root):
                    unsafe.append(rel)
                else:
                    notes.append(f"{rel} is a link to a directory of the package: not followed, not uploaded")
        for name in sorted(files):
            path = Path(top) / name
            rel = path.relative_to(source).as_posix()
            if path.is_symlink():
                real = path.resolve()
                if not real.exists() or not _inside(real, root):
                    unsafe.append(rel)
                elif real.is_file():
                    pairs.append((rel, real))  # a copy of the package's own file
            elif path.is_file():
                pairs.append((rel, path))
    if unsafe:
        raise UnsafePackage(source, unsafe)
    return pairs, notes


def scan(source: Path, *, under: str = "") -> list[LocalFile]:
    """The files an upload of `source` sends (see `scan_package`)."""
    return scan_package(source, under=under)[0]


def remote_dir(path: str) -> str:
    """A remote directory as SFTP and the shell both understand it: `~` and `~/x` become
    home-relative (both start in the login's home)."""
    path = path.strip()
    if path in ("~", "~/", ""):
        return "."
    if path.startswith("~/"):
        return path[2:].rstrip("/") or "."
    return path.rstrip("/") or "/"


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def _checksum_command(directory: str, stamp: Optional[str]) -> str:
    lines = [f"cd {shlex.quote(directory)} 2>/dev/null || exit 0",
             "tr '\\n' '\\0' | xargs -0 -r sha256sum -- 2>/dev/null"]
    if stamp:
        lines.append(f"printf 'unpacked %s\\n' \"$(cat -- {shlex.quote(stamp)} 2>/dev/null)\"")
    lines.append("exit 0")
    return "\n".join(lines)


def _parse_checksums(text: str) -> tuple[dict[str, str], Optional[str]]:
    sums: dict[str, str] = {}
    unpacked = None
    for line in text.splitlines():
        if line.startswith("unpacked "):
            unpacked = line[len("unpacked "):].strip() or None
            continue
        if line.startswith("\\") or len(line) < 66:
            continue  # escaped (unusual) names: treated as changed
        digest, name = line[:64], line[66:] if line[65] in " *" else line[65:]
        sums[name] = digest
    return sums, unpacked


async def upload(session: SshSession, source: Union[str, Path], *, hosts: Optional[Iterable[str]] = None,
                 dest: Union[str, Mapping[str, str], None] = None, unpack: Optional[bool] = None,
                 step: str = "upload", sink: Optional[EventSink] = None,
                 timeout: Optional[float] = 1800.0,
                 stall_timeout: Optional[float] = DEFAULT_STALL_TIMEOUT) -> RunResult:
    """Send `source` to every host (or `hosts`) of `session`; `dest` defaults to each target's install_dir.

    `timeout` bounds a host's whole transfer (and the unpacking); `stall_timeout` ends it sooner
    when nothing moves. A package with links leading out of it fails every host, sending nothing."""
    source = Path(source)
    unpack = is_tarball(source) if unpack is None else unpack
    if unpack and not source.is_file():
        raise ValueError(f"{source} is not a tarball file")
    try:
        files, notes = await asyncio.to_thread(scan_package, source, under=STATE_DIR if unpack else "")
    except UnsafePackage as refused:
        return await _refuse_everywhere(session, str(refused), hosts=hosts, step=step, sink=sink)

    def destination(work: HostWork) -> str:
        if isinstance(dest, str):
            return remote_dir(dest)
        if isinstance(dest, Mapping) and work.name in dest:
            return remote_dir(dest[work.name])
        if work.target.install_dir:
            return remote_dir(work.target.install_dir)
        raise SshHostError(work.name, "no destination: the host has no install_dir")

    async def job(work: HostWork) -> HostResult:
        directory = destination(work)
        stamp = f"{STATE_DIR}/{source.name}.unpacked" if unpack else None
        status, listing, _ = await work.capture(_checksum_command(directory, stamp),
                                                input="".join(f.rel + "\n" for f in files), timeout=120)
        remote, unpacked_sum = _parse_checksums(listing)
        changed = [f for f in files if remote.get(f.rel) != f.sha256]
        needs_unpack = unpack and (bool(changed) or unpacked_sum != files[0].sha256)
        for note in notes:
            work.line(note)
        if not changed and not needs_unpack:
            work.line(f"{len(files)} file(s) unchanged in {directory} (sha256); nothing to upload")
            return HostResult(work.name, step, HostState.ALREADY_DONE)
        if changed:
            size = sum(f.size for f in changed)
            work.line(f"uploading {len(changed)} of {len(files)} file(s), {_size(size)}, to {directory}")
            await _send_watched(work, directory, changed, timeout=timeout, stall_timeout=stall_timeout)
        if needs_unpack:
            tarball = files[0].rel
            work.line(f"unpacking {source.name} in {directory}")
            command = (f"cd {shlex.quote(directory)} && tar -xf {shlex.quote(tarball)} && "
                       f"printf '%s\\n' {files[0].sha256} > {shlex.quote(stamp)}")
            status, signal = await work.exec(command, timeout=timeout)
            if status != 0:
                return HostResult(work.name, step, HostState.FAILED, exit_status=status,
                                  error=f"unpacking {source.name} failed (exit status {status})")
        unchanged = len(files) - len(changed)
        work.line(f"uploaded {len(changed)} file(s), {unchanged} unchanged")
        return HostResult(work.name, step, HostState.OK)

    return await session.each_host(job, hosts=hosts, step=step, sink=sink)


async def _refuse_everywhere(session: SshSession, message: str, *, hosts, step: str, sink) -> RunResult:
    """Every host FAILED with `message`, without connecting: the same result and events as any failure."""

    async def job(work: HostWork) -> HostResult:
        raise SshHostError(work.name, message)

    return await session.each_host(job, hosts=hosts, step=step, sink=sink)


class _Moved:
    """When the transfer last moved: each acknowledged block or finished request resets it."""

    def __init__(self) -> None:
        self.at = time.monotonic()

    def now(self) -> None:
        self.at = time.monotonic()


async def _send_watched(work: HostWork, directory: str, files: list[LocalFile], *,
                        timeout: Optional[float], stall_timeout: Optional[float]) -> None:
    """`_send`, given up when it stops moving for `stall_timeout` s or runs past `timeout` s.
    Given up or cancelled, it is stopped at once even if the host no longer answers."""
    conn = await work.connection()
    moved = _Moved()
    task = asyncio.ensure_future(_send(work, conn, directory, files, moved))
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        while True:
            limits = []
            if stall_timeout is not None:
                limits.append(moved.at + stall_timeout - time.monotonic())
            if deadline is not None:
                limits.append(deadline - time.monotonic())
            wait = min(limits) if limits else None
            if wait is not None and wait <= 0:
                break
            done, _ = await asyncio.wait({task}, timeout=wait)
            if done:
                return task.result()
    except asyncio.CancelledError:
        await _stop(task, conn)
        raise
    await _stop(task, conn)
    if deadline is not None and time.monotonic() >= deadline:
        raise CommandTimeout(work.name, f"upload timed out after {timeout:g} s")
    raise CommandTimeout(work.name, f"upload stalled: no progress for {stall_timeout:g} s; the transfer "
                                    f"was stopped and the connection closed (the host may be hung)")


async def _stop(task: asyncio.Task, conn: asyncssh.SSHClientConnection) -> None:
    """Cancel a transfer; if it cannot even wind down (its SFTP requests wait for a host that no
    longer answers), cut the connection so they fail at once. The next step reconnects."""
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=STOP_GRACE)
    if not done:
        conn.abort()
        await asyncio.wait({task}, timeout=STOP_GRACE)
    if task.done() and not task.cancelled():
        task.exception()  # retrieved: its error is the stall or the cancel, said by the caller


async def _send(work: HostWork, conn: asyncssh.SSHClientConnection, directory: str, files: list[LocalFile],
                moved: _Moved) -> None:
    made: set[str] = set()
    try:
        async with work.channel():
            async with conn.start_sftp_client() as sftp:
                fsync = _Fsync(work)
                for local in files:
                    target = posixpath.join(directory, local.rel)
                    parent = posixpath.dirname(target) or "."
                    if parent not in made:
                        await sftp.makedirs(parent, exist_ok=True)
                        made.add(parent)
                        moved.now()
                    await _send_file(sftp, work, local, parent, target, moved, fsync)
                    work.line(f"sent {local.rel} ({_size(local.size)})")
    except asyncssh.SFTPError as exc:
        raise SshHostError(work.name, f"upload to {directory} failed: {exc.reason}") from None
    except (asyncssh.ChannelOpenError,) as exc:
        raise SshHostError(work.name, f"the host refused an SFTP channel: {exc.reason}") from None
    except (asyncssh.Error, OSError) as exc:
        raise ConnectionDropped(work.name, f"connection lost during upload: {exc}") from None


async def _send_file(sftp, work: HostWork, local: LocalFile, parent: str, target: str, moved: _Moved,
                     fsync: "_Fsync") -> None:
    """One file: into a fresh temp name beside the target, synced, then renamed over the target."""
    # 128 random bits, created exclusively: no one can guess the name and plant a link there, and
    # homes shared by several hosts (NFS) see concurrent uploads without clashing.
    tmp = posixpath.join(parent, f".{posixpath.basename(target)}.{secrets.token_hex(16)}.arcus-tui-part")
    block = min(sftp.limits.max_write_len or BLOCK, BLOCK)
    handle = await sftp.open(tmp, "xb", block_size=0)  # one request per write: we pipeline them
    try:
        try:
            with open(local.path, "rb") as data:
                await _write_pipelined(handle, data, block, _progress(work, local, moved))
            await fsync(handle)  # the data is on disk before the name points at it
        finally:
            await handle.close()
        await sftp.chmod(tmp, local.mode)
        await _rename_over(sftp, tmp, target)
    except asyncssh.SFTPError:  # the host said no (disk full, permissions): leave no temp behind
        with contextlib.suppress(asyncssh.Error, OSError):
            await sftp.remove(tmp)
        raise
    moved.now()


async def _write_pipelined(handle, data, block: int, progress: Callable[[int], None]) -> None:
    """Write the local file `data` through `handle`, `IN_FLIGHT` blocks at once. The writes are
    our own tasks (not asyncssh's parallel writer, which leaves its tasks behind on a cancel), so a
    cancel or a cut connection ends every one of them."""
    pending: set[asyncio.Task] = set()
    offset = written = 0
    try:
        while True:
            while len(pending) < IN_FLIGHT and (chunk := data.read(block)):
                pending.add(asyncio.ensure_future(handle.write(chunk, offset)))
                offset += len(chunk)
            if not pending:
                return
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                written += task.result()  # the host's error, if any, ends the file here
            progress(written)
    finally:
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)


async def _rename_over(sftp, tmp: str, target: str) -> None:
    try:
        await sftp.posix_rename(tmp, target)
    except asyncssh.SFTPOpUnsupported:
        try:
            await sftp.remove(target)
        except asyncssh.SFTPNoSuchFile:
            pass
        await sftp.rename(tmp, target)


class _Fsync:
    """fsync through the SFTP server (OpenSSH's `fsync@openssh.com`); a server without it is said
    once per host, and its files are renamed without it (as every upload was before)."""

    def __init__(self, work: HostWork) -> None:
        self.work = work
        self.supported = True

    async def __call__(self, handle) -> None:
        if not self.supported:
            return
        try:
            await handle.fsync()
        except asyncssh.SFTPOpUnsupported:
            self.supported = False
            self.work.line("the host's SFTP server cannot fsync; files are renamed without it")


def _progress(work: HostWork, local: LocalFile, moved: _Moved) -> Callable[[int], None]:
    """Tells the stall watch each block landed, and reports big files about once a second."""
    last = [time.monotonic()]
    big = local.size > (4 << 20)

    def report(copied: int) -> None:
        moved.now()
        now = time.monotonic()
        if big and copied < local.size and now - last[0] >= 1.0:
            last[0] = now
            work.line(f"{local.rel}: {copied * 100 // local.size}% of {_size(local.size)}")

    return report
