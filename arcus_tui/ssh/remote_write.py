"""Writing a small file on a host atomically, as one shell command fed the content on stdin.

    status, _ = await work.exec(atomic_write_command("~/arcus/conf/zoo.cfg", 0o644),
                                input=content, echo=False)

The content goes to a temp file that `mktemp` creates in the target's own directory (a
random name, created exclusively: nothing planted under a guessable name is followed, and
the rename stays within one file system), is synced to disk, gets its mode, and is renamed
over the target; then the directory is synced so the rename itself survives a crash. An
interrupted or failed write leaves the old file whole and no temp behind.
"""

from __future__ import annotations

import shlex

# $1 is the path as the plan spells it (`~`, `~/x`, absolute or relative), $2 the octal mode.
# `sync FILE` fsyncs just that file (GNU coreutils >= 8.24, BusyBox); older ones sync everything.
ATOMIC_WRITE_SCRIPT = r"""
case $1 in
  "~") f=$HOME ;;
  "~/"*) f=$HOME/${1#"~/"} ;;
  /*) f=$1 ;;
  *) f=./$1 ;;
esac
d=$(dirname -- "$f") || exit 1
mkdir -p -- "$d" || exit 1
t=$(mktemp "$d/.${f##*/}.XXXXXXXXXX") || exit 1
trap 'rm -f -- "$t"' EXIT
trap 'exit 1' HUP INT TERM
cat > "$t" || exit 1
chmod "$2" "$t" || exit 1
sync -- "$t" 2>/dev/null || sync
mv -f -- "$t" "$f" || exit 1
trap - EXIT
sync -- "$d" 2>/dev/null || :
"""


def atomic_write_command(path: str, mode: int) -> str:
    """The command that writes its stdin to `path` (`~` and `~/...` under the login's home) with
    `mode`, atomically and durably. Run through sh whatever the login shell is (csh, fish, ...)."""
    return (f"sh -c {shlex.quote(ATOMIC_WRITE_SCRIPT)} arcus-tui-write "
            f"{shlex.quote(path)} {shlex.quote(format(mode, 'o'))}")


__all__ = ["ATOMIC_WRITE_SCRIPT", "atomic_write_command"]
