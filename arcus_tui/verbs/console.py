"""Headless output: progress events as `[host] text` lines, and the operator's answers."""

from __future__ import annotations

import asyncio
import getpass
import sys
from pathlib import Path
from typing import Optional, TextIO

from arcus_tui.events import HostState, ProgressEvent, Stream
from arcus_tui.ssh.connect import Password
from arcus_tui.ssh.hostkeys import HostKeyQuestion
from arcus_tui.text import printable, printable_lines


class EventPrinter:
    """An `EventSink` that prints each line with its host, and each finished state once."""

    def __init__(self, stream: Optional[TextIO] = None, width: int = 16):
        self._stream = stream
        self.width = width
        self._step: Optional[str] = None

    @property
    def stream(self) -> TextIO:
        return self._stream or sys.stdout  # looked up late: tests and redirections swap it

    def __call__(self, event: ProgressEvent) -> None:
        # Remote text never drives the terminal: every piece is made printable, and each line of
        # a multi-line text gets the host prefix (no unprefixed line can pose as another host's).
        if event.step != self._step:
            self._step = event.step
            print(f"==> {printable(event.step)}", file=self.stream, flush=True)
        prefix = f"[{printable(event.host)}]".ljust(self.width + 2)
        if event.state is None:
            if event.text:
                mark = "! " if event.stream is Stream.STDERR else ""
                for line in printable_lines(event.text):
                    print(f"{prefix} {mark}{line}", file=self.stream, flush=True)
            return
        if not event.state.finished:
            return
        took = f" in {event.duration:.1f}s" if event.duration is not None else ""
        detail = f": {' / '.join(printable_lines(event.text))}" if event.text else ""
        print(f"{prefix} {event.state.value}{took}{detail}", file=self.stream, flush=True)


def read_password_file(path: str) -> Password:
    """The first line of a file; the file itself is the operator's to protect."""
    text = Path(path).read_text(encoding="utf-8")
    return Password(text.splitlines()[0] if text else "")


def interactive() -> bool:
    return sys.stdin.isatty()


async def prompt_password(prompt: str = "SSH password for the hosts (asked once, kept in memory): ") -> Optional[Password]:
    if not interactive():
        return None
    value = await asyncio.to_thread(getpass.getpass, prompt)
    return Password(value) if value else None


def confirm(question: str, *, expected: str = "y") -> bool:
    """Ask on the terminal; without one the answer is no."""
    if not interactive():
        return False
    try:
        answer = input(f"{question} ")
    except EOFError:
        return False
    return answer.strip() == expected if expected != "y" else answer.strip().lower() in ("y", "yes")


def print_effects(title: str, effects: list[str], stream: Optional[TextIO] = None) -> None:
    """A narrowed plan as the operator confirms it: one line per process and host."""
    stream = stream or sys.stdout
    print(title, file=stream)
    for line in effects:
        print(f"  {line}", file=stream)
    stream.flush()


def removal_asker():
    """`PlanOptions.ask_removal` for a terminal: the register step has printed the
    difference; removing a registered node's mapping needs the service code typed.
    Without a terminal the answer is no (pass --yes to agree in advance)."""
    ask_lock = asyncio.Lock()

    async def ask(diff) -> bool:
        if not interactive():
            print(f"register would remove the mapping(s) of {', '.join(diff.removed)} from {diff.service_code}: "
                  "not confirmed (no terminal to ask; pass --yes to agree in advance)", file=sys.stderr)
            return False
        async with ask_lock:
            return await asyncio.to_thread(
                confirm, f"This removes the mapping(s) of {len(diff.removed)} node(s) registered under "
                         f"{diff.service_code}: {', '.join(diff.removed)}. Type the service code "
                         f"'{diff.service_code}' to go on:", expected=diff.service_code)

    return ask


def add_host_key_options(parser) -> None:
    """The two ways a headless verb may trust a host key it has never seen."""
    parser.add_argument("--trust-host-key", action="append", default=[], metavar="SHA256:...",
                        help="trust an unknown host key with this fingerprint (after checking it)")
    parser.add_argument("--accept-new-host-keys", action="store_true",
                        help="trust and save the key of any host seen for the first time (its fingerprint "
                             "is printed); a changed key is always refused")


def host_key_asker(trusted: tuple[str, ...] = (), *, accept_new: bool = False):
    """Answers unknown-host-key questions: fingerprints given on the command line are
    trusted, `accept_new` trusts any first-seen key (like ssh's accept-new); otherwise
    the operator is asked, one question at a time, and without a terminal the answer is no."""
    ask_lock = asyncio.Lock()

    async def ask(question: HostKeyQuestion) -> bool:
        host = printable(question.host)
        if question.fingerprint in trusted:
            print(f"[{host}] trusting host key {question.fingerprint} (given with --trust-host-key)")
            return True
        if accept_new:
            print(f"[{host}] trusting new host key {question.key_type} {question.fingerprint}, "
                  f"saved to {question.known_hosts}", file=sys.stderr)
            return True
        if not interactive():
            print(f"[{host}] unknown host key {question.key_type} {question.fingerprint}: not trusted "
                  "(no terminal to ask; pass --trust-host-key FINGERPRINT after checking it)", file=sys.stderr)
            return False
        async with ask_lock:
            return await asyncio.to_thread(confirm, printable(question.text) + " [y/N]")

    return ask


def host_key_asker_for(args):
    return host_key_asker(tuple(args.trust_host_key), accept_new=args.accept_new_host_keys)


def print_failures(report, stream: Optional[TextIO] = None) -> None:
    stream = stream or sys.stderr
    failures = [(step, target, outcome) for step, target, outcome in report.failures()]
    if not failures:
        return
    print("not done:", file=stream)
    for step, target, outcome in failures:
        detail = f": {' / '.join(printable_lines(outcome.message))}" if outcome.message else ""
        print(f"  {step.value:18} {printable(target):18} {outcome.state.value}{detail}", file=stream)


__all__ = ["EventPrinter", "HostState", "add_host_key_options", "confirm", "host_key_asker", "host_key_asker_for", "interactive", "print_effects",
           "print_failures", "prompt_password", "read_password_file", "removal_asker"]
