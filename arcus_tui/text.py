"""Text from elsewhere (a remote host's output, a znode, an error message) made safe to show.

A remote command's output goes straight to the operator's terminal, headless or in a log
pane. Left raw, it could set the window title, clear the screen, rewrite a line with a
carriage return (a forged `[other-host] ok`), move the cursor, or ring the bell. `printable`
is the one place that removes all of that; it imports nothing, so every layer may use it.
"""

from __future__ import annotations

import re

_CONTROL = re.compile(
    r"""
      \x1b\[[0-?]*[ -/]*[@-~]?             # CSI: ESC [ parameters intermediates final
    | \x1b\][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?   # OSC (title, hyperlink...): up to BEL or ST
    | \x1b[PX^_][^\x1b\x9c]*(?:\x1b\\|\x9c)?        # DCS, SOS, PM, APC strings: up to ST
    | \x1b[ -/]*[0-~]?                     # any other escape: ESC intermediates final
    | \x9b[0-?]*[ -/]*[@-~]?               # 8-bit CSI
    | \x9d[^\x07\x9c]*(?:\x07|\x9c)?       # 8-bit OSC
    | [\x90\x98\x9e\x9f][^\x9c]*\x9c?      # 8-bit DCS, SOS, PM, APC
    | [\x00-\x08\x0a-\x1f\x7f-\x9f]        # every other C0 control but tab, DEL, every C1 control
    """,
    re.VERBOSE,
)


def printable(text: str) -> str:
    """`text` with every terminal control sequence removed whole (so no `[31m` is left behind)
    and every control character but tab dropped. One line in, one line out: a newline is a
    control character here too; split multi-line text first."""
    if text.isprintable():  # the common case: nothing to do
        return text
    return _CONTROL.sub("", text)


def printable_lines(text: str) -> list[str]:
    """Each line of `text` (split at newlines only: a carriage return or form feed inside a
    line is removed, not obeyed), made printable; at least one, possibly empty."""
    lines = text.split("\n")
    if len(lines) > 1 and lines[-1] == "":
        lines.pop()  # a final newline ends the last line, it does not start another
    return [printable(line) for line in lines]


__all__ = ["printable", "printable_lines"]
