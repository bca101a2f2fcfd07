"""Upload a file, a directory or a tarball to every host's install directory over SFTP, all hosts at once.

- A file goes to `<dest>/<its name>`; a directory's contents go under `<dest>/`
  (like `rsync src/ dest/`); a tarball (`.tar`, `.tar.gz`, `.tgz`, `.tar.bz2`, `.tar.xz`)
  is uploaded to `<dest>/.arcus-tui/` and unpacked into `<dest>`.
- Before sending, each host is asked for the sha256 of the files it already has
  (`sha256sum`); files whose content is unchanged are skipped, so a second deploy
  uploads nothing (the host reports ALREADY_DONE). A tarball is unpacked again only
  when it changed (a stamp file records the unpacked checksum).
- Each file is written to a temporary name and renamed over the old one, so a
  running binary is replaced safely and an interrupted upload never leaves half a file.
  The local file's permission bits are applied.
"""

from __future__ import annotations

import asyncio
import os
import posixpath
import secrets
import shlex
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Optional, Union

import asyncssh

from arcus_tui.checksums import file_sha256
from arcus_tui.events import EventSink, HostState

from .errors import CommandTimeout, ConnectionDropped, SshHostError
from .results import HostResult, RunResult
from .session import HostWork, SshSession

TARBALL_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
STATE_DIR = ".arcus-tui"


@dataclass(frozen=True)
class LocalFile:
    rel: str  # POSIX path under the destination directory
    path: Path
    size: int
    sha256: str
    mode: int


def is_tarball(path: Union[str, Path]) -> bool:
    return str(path).lower().endswith(TARBALL_SUFFIXES)


def scan(source: Path, *, under: str = "") -> list[LocalFile]:
    """The files an upload of `source` sends, with checksums (computed once for all hosts)."""
    source = Path(source)
    if source.is_file():
        pairs = [(posixpath.join(under, source.name) if under else source.name, source)]
    elif source.is_dir():
        pairs = []
        for root, dirs, files in os.walk(source):
            dirs.sort()
            for name in sorted(files):
                path = Path(root) / name
                if path.is_file():
                    pairs.append((path.relative_to(source).as_posix(), path))
    else:
        raise FileNotFoundError(f"{source} does not exist")
    result = []
    for rel, path in pairs:
        if "\n" in rel or "\\" in rel:
            raise ValueError(f"{path}: file names with newlines or backslashes are not supported")
        stat = path.stat()
        result.append(LocalFile(rel, path, stat.st_size, file_sha256(path), stat.st_mode & 0o7777))
    return result


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
                 timeout: Optional[float] = 1800.0) -> RunResult:
    """Send `source` to every host (or `hosts`) of `session`; `dest` defaults to each target's install_dir."""
    source = Path(source)
    unpack = is_tarball(source) if unpack is None else unpack
    if unpack and not source.is_file():
        raise ValueError(f"{source} is not a tarball file")
    files = await asyncio.to_thread(scan, source, under=STATE_DIR if unpack else "")

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
        if not changed and not needs_unpack:
            work.line(f"{len(files)} file(s) unchanged in {directory} (sha256); nothing to upload")
            return HostResult(work.name, step, HostState.ALREADY_DONE)
        if changed:
            size = sum(f.size for f in changed)
            work.line(f"uploading {len(changed)} of {len(files)} file(s), {_size(size)}, to {directory}")
            try:
                await asyncio.wait_for(_send(work, directory, changed), timeout)
            except asyncio.TimeoutError:
                raise CommandTimeout(work.name, f"upload timed out after {timeout:g} s") from None
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


async def _send(work: HostWork, directory: str, files: list[LocalFile]) -> None:
    conn = await work.connection()
    made: set[str] = set()
    try:
        async with work.channel():
            async with conn.start_sftp_client() as sftp:
                for local in files:
                    target = posixpath.join(directory, local.rel)
                    parent = posixpath.dirname(target) or "."
                    if parent not in made:
                        await sftp.makedirs(parent, exist_ok=True)
                        made.add(parent)
                    # unique per upload: homes shared by several hosts (NFS) see concurrent uploads
                    tmp = posixpath.join(parent, f".{posixpath.basename(target)}.{secrets.token_hex(4)}.arcus-tui-part")
                    await sftp.put(str(local.path), tmp, progress_handler=_progress(work, local))
                    await sftp.chmod(tmp, local.mode)
                    try:
                        await sftp.posix_rename(tmp, target)
                    except asyncssh.SFTPOpUnsupported:
                        try:
                            await sftp.remove(target)
                        except asyncssh.SFTPNoSuchFile:
                            pass
                        await sftp.rename(tmp, target)
                    work.line(f"sent {local.rel} ({_size(local.size)})")
    except asyncssh.SFTPError as exc:
        raise SshHostError(work.name, f"upload to {directory} failed: {exc.reason}") from None
    except (asyncssh.ChannelOpenError,) as exc:
        raise SshHostError(work.name, f"the host refused an SFTP channel: {exc.reason}") from None
    except (asyncssh.Error, OSError) as exc:
        raise ConnectionDropped(work.name, f"connection lost during upload: {exc}") from None


def _progress(work: HostWork, local: LocalFile):
    """A progress handler reporting big files about once a second."""
    last = [time.monotonic()]

    def report(src, dst, copied: int, total: int) -> None:
        now = time.monotonic()
        if total and copied < total and now - last[0] >= 1.0:
            last[0] = now
            work.line(f"{local.rel}: {copied * 100 // total}% of {_size(total)}")

    return report if local.size > (4 << 20) else None
