"""Tab 6, Events: the cloud's own events (nodes joined / left / rejoined) and its clients. READ-ONLY.

The data source is passed in, as for the Monitor: by default a
`arcus_tui.monitor.cloud_events.CloudEventStream` on its own read-only ZooKeeper session
(the history from ``/arcus/cache_server_log``, the nodes online now, then a watch on
``cache_list/<svc>``; the clients from a watch on ``client_list/<svc>``). Tests hand in a
fake with the same three members: ``start()`` (blocking), ``close()``, ``connected``.

The source calls back from kazoo's thread; the batches reach the loop as messages
(`post_message` from another thread is ``loop.call_soon_threadsafe``: kazoo's thread never
waits for the UI), are kept in a
bounded `EventRing`, and are drawn at most every `DRAW_COALESCE` seconds, only while the
tab is on screen: a fleet of 200 nodes joining at once is one redraw of at most
`SHOWN_EVENTS` rows, newest first. The client table shows at most `SHOWN_CLIENTS` rows.
"""

from __future__ import annotations

import asyncio
import datetime
from typing import Callable, Optional, Protocol, Sequence

from rich.text import Text
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.content import Content
from textual.widgets import DataTable, Label, Static

from arcus_tui.monitor.cloud_events import (DEFAULT_LIMIT, CloudEvent, CloudEventStream, ClientsConsumer,
                                            EventKind, EventRing, EventsConsumer)
from arcus_tui.zk.client_list import ClientEntry

from ..context import AppContext

DRAW_COALESCE = 0.25
"""Seconds between redraws at most: a redraw of 200 rows costs ~60 ms of CPU, so a storm of
events takes at most about a quarter of the loop and keys stay answered."""
SHOWN_EVENTS = 200
SHOWN_CLIENTS = 200
STATUS_EVERY = 1.0
CLOSE_WAIT = 5.0


class EventSource(Protocol):
    connected: bool
    note: str  # what to know about the history, once started

    def start(self) -> None: ...

    def close(self) -> None: ...


SourceFactory = Callable[[AppContext, EventsConsumer, ClientsConsumer], EventSource]


def default_source(context: AppContext, on_events: EventsConsumer, on_clients: ClientsConsumer) -> EventSource:
    cluster = context.cluster
    assert cluster is not None
    return CloudEventStream(cluster.connect_string, cluster.service_code, on_events, on_clients, since_log=True,
                            limit=DEFAULT_LIMIT, extra_addresses=[node.endpoint for node in cluster.nodes()])


EVENT_STYLES = {EventKind.JOINED: "success", EventKind.LEFT: "error", EventKind.REJOINED: "warning"}
EVENT_COLUMNS = (("time", "Time"), ("event", "Event"), ("node", "Node"), ("hostname", "Hostname"),
                 ("source", "Seen in"))
CLIENT_COLUMNS = (("host", "Client host"), ("ip", "IP"), ("kind", "Kind"), ("version", "Version"),
                  ("pool", "Pool"), ("connected", "Connected at (client's clock)"), ("session", "Session"))
SOURCE_WORDS = {"log": "cache_server_log", "online": "online at start", "watch": "live"}


def event_cells(event: CloudEvent, palette: dict) -> list[Text]:
    return [Text(event.time_text()),
            Text(event.kind.value, style=f"bold {palette.get(EVENT_STYLES[event.kind], '')}".strip()),
            Text(event.endpoint, style="bold"), Text(event.hostname),
            Text(SOURCE_WORDS.get(event.source.value, event.source.value), style="dim")]


def client_cells(entry: ClientEntry) -> list[Text]:
    if not entry.known:
        return [Text(entry.name), Text("(unknown format)", style="dim italic")] + [Text("")] * 5
    connected = entry.connected_at.strftime("%Y-%m-%d %H:%M:%S") if entry.connected_at else "?"
    return [Text(entry.hostname), Text(entry.ip), Text(entry.kind), Text(entry.version),
            Text(str(entry.pool_size), justify="right"), Text(connected),
            Text(entry.session_hex or entry.session_id, style="dim")]


class EventsPane(Vertical):
    """The Events tab: status line, the event table (newest first) and the client table."""

    DEFAULT_CSS = """
    EventsPane { height: 1fr; }
    #ev-status { height: 1; padding: 0 1; background: $panel; }
    EventsPane .ev-heading { padding: 0 1; margin: 1 0 0 0; text-style: bold; color: $primary; }
    #ev-table { height: 2fr; min-height: 4; }
    #ev-clients { height: 1fr; min-height: 3; }
    #ev-message { height: auto; padding: 0 1; }
    #ev-message.-problem { border-top: solid $error; }
    """

    BINDINGS = [Binding("r", "reconnect", "Retry / re-read", id="events.reread")]

    def __init__(self, context: AppContext, source: Optional[SourceFactory] = None, *,
                 limit: int = DEFAULT_LIMIT, id: Optional[str] = "events-pane") -> None:
        super().__init__(id=id)
        self.context = context
        self.make_source = source or default_source
        self.limit = limit
        self.source: Optional[EventSource] = None
        self.ring = EventRing(limit)
        self.clients: Optional[tuple[ClientEntry, ...]] = ()
        self.state = "idle"  # idle | connecting | connected | failed | unavailable
        self.error = ""
        self.draws = 0
        self._visible = False
        self._started = False
        self._draw_due = False
        self._dirty = False
        self._events_changed = False  # each table is redrawn only when its list changed
        self._clients_changed = False
        self._generation = 0  # a source's callbacks count only while it is the current one

    @property
    def service_code(self) -> str:
        return self.context.cluster.service_code if self.context.cluster is not None else ""

    def compose(self):
        yield Static(id="ev-status")
        yield Label(f"Events of {self.service_code or 'the cluster'}  (newest first; joins, leaves, rejoins)",
                    classes="ev-heading")
        events = DataTable(id="ev-table", cursor_type="row", zebra_stripes=True)
        for key, label in EVENT_COLUMNS:
            events.add_column(label, key=key)
        yield events
        yield Label("Clients  (client_list)", classes="ev-heading", id="ev-clients-heading")
        clients = DataTable(id="ev-clients", cursor_type="row")
        for key, label in CLIENT_COLUMNS:
            clients.add_column(label, key=key)
        yield clients
        yield Static(id="ev-message")

    def on_mount(self) -> None:
        if self.context.cluster is None:
            self._set_state("unavailable", "No cluster file: start arcus-tui with one to follow its events.")
        elif not self.context.cluster.connect_string:
            self._set_state("unavailable", "The cluster file names no ZooKeeper member.")
        else:
            self._set_state("idle")
        self.set_interval(STATUS_EVERY, self._draw_status)
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._redraw_all())

    def on_show(self) -> None:
        self._visible = True
        if not self._started and self.state == "idle":
            self._started = True
            self.connect()
        if self._dirty:
            self._draw_now()
        self.call_after_refresh(self._focus_table)

    def on_hide(self) -> None:
        self._visible = False

    def focus_default(self) -> None:
        self.query_one("#ev-table", DataTable).focus()

    def _focus_table(self) -> None:
        if self.is_attached and self.region:
            self.focus_default()

    async def on_unmount(self) -> None:
        self._generation += 1
        await self._close_source()

    async def _close_source(self) -> None:
        source, self.source = self.source, None
        if source is not None:
            try:
                await asyncio.wait_for(asyncio.to_thread(source.close), CLOSE_WAIT)
            except Exception:  # leaving anyway; kazoo's threads are daemons
                pass

    # -- the source ------------------------------------------------------------------

    def connect(self) -> None:
        self.run_worker(self._connect, group="events-connect", exclusive=True, exit_on_error=False)

    async def _connect(self) -> None:
        await self._close_source()
        self._generation += 1
        generation = self._generation
        self.ring = EventRing(self.limit)
        self.clients = ()
        self._events_changed = self._clients_changed = True
        self._schedule_draw()
        self._set_state("connecting")
        source = self.make_source(self.context, lambda batch: self._from_thread(self._take_events, generation, batch),
                                  lambda clients: self._from_thread(self._take_clients, generation, clients))
        self.source = source
        try:
            await asyncio.to_thread(source.start)
        except Exception as error:  # RegistryError and the like: said, never raised
            if generation == self._generation:
                self._set_state("failed", str(error) or type(error).__name__)
            return
        if generation == self._generation:
            self._set_state("connected", source.note)

    class Arrived(Message):
        """A batch from the source's thread (events, or the client list), for the loop."""

        def __init__(self, take: Callable, generation: int, value) -> None:
            super().__init__()
            self.take, self.generation, self.value = take, generation, value

    def _from_thread(self, take: Callable, generation: int, value) -> None:
        """kazoo's thread (or the worker's): hand over to the loop, never wait for it.
        `post_message` from another thread is `call_soon_threadsafe` on the app's loop."""
        if self.is_attached:
            self.post_message(self.Arrived(take, generation, value))

    def on_events_pane_arrived(self, message: "EventsPane.Arrived") -> None:
        message.stop()
        message.take(message.generation, message.value)

    def _take_events(self, generation: int, batch: Sequence[CloudEvent]) -> None:
        if generation == self._generation:
            self.ring.extend(batch)
            self._events_changed = True
            self._schedule_draw()

    def _take_clients(self, generation: int, clients: Optional[tuple[ClientEntry, ...]]) -> None:
        if generation == self._generation:
            self.clients = clients
            self._clients_changed = True
            self._schedule_draw()

    # -- drawing ---------------------------------------------------------------------

    def _schedule_draw(self) -> None:
        if not self._visible:
            self._dirty = True
            return
        if not self._draw_due and self.is_attached:
            self._draw_due = True
            self.set_timer(DRAW_COALESCE, self._draw_now)

    def _redraw_all(self) -> None:
        """A new theme: the tables' cells hold their colours, so both are drawn again."""
        self._events_changed = self._clients_changed = True
        self._schedule_draw()

    def _draw_now(self) -> None:
        self._draw_due = self._dirty = False
        if not self.is_attached:
            return
        self.draws += 1
        palette = self.app.get_css_variables()
        if self._events_changed:
            self._events_changed = False
            table = self.query_one("#ev-table", DataTable)
            table.clear()
            table.add_rows(event_cells(e, palette) for e in self.ring.newest_first(SHOWN_EVENTS))
        if self._clients_changed:
            self._clients_changed = False
            self._draw_clients()
        self._draw_status()

    def _draw_clients(self) -> None:
        table = self.query_one("#ev-clients", DataTable)
        table.clear()
        heading = self.query_one("#ev-clients-heading", Label)
        if self.clients is None:
            heading.update("Clients  (client_list)  ·  this service has no client_list znode")
            return
        shown = self.clients[:SHOWN_CLIENTS]
        table.add_rows(client_cells(entry) for entry in shown)
        more = len(self.clients) - len(shown)
        heading.update(f"Clients  (client_list)  ·  {len(self.clients)} connected"
                       + (f"  ·  first {len(shown)} shown" if more > 0 else ""))

    def _set_state(self, state: str, error: str = "") -> None:
        self.state, self.error = state, error
        message = self.query_one("#ev-message", Static)
        message.set_class(state in ("failed", "unavailable"), "-problem")
        if state == "failed":
            message.update(Content.assemble(("Cannot follow the events: ", "bold $error"), error,
                                            ("   Press r to try again.", "$foreground-muted")))
        elif state == "unavailable":
            message.update(Content.styled(error, "bold"))
        elif error:  # connected, with a note on the history
            message.update(Content.styled(error, "italic $foreground-muted"))
        else:
            message.update("")
        self._draw_status()

    def _draw_status(self) -> None:
        if not self.is_attached:
            return
        state = self.state
        if state == "connected" and self.source is not None and not self.source.connected:
            state = "reconnecting"
        parts: list = [("Events", "bold"), "  ·  ", (state, "bold $accent" if state == "connected" else "bold $warning")]
        if self.context.cluster is not None:
            parts += [f"  ·  {self.context.cluster.connect_string}"]
        shown = min(len(self.ring), SHOWN_EVENTS)
        parts += [f"  ·  {len(self.ring)} event{'s' if len(self.ring) != 1 else ''}"]
        if shown < len(self.ring):
            parts.append((f" (newest {shown} shown)", "$foreground-muted"))
        if self.ring.dropped:
            parts.append((f", {self.ring.dropped} older dropped", "$foreground-muted"))
        parts.append((f"  ·  {datetime.datetime.now():%H:%M:%S}  ·  read-only", "$foreground-muted"))
        self.query_one("#ev-status", Static).update(Content.assemble(*parts))

    # -- keys ------------------------------------------------------------------------

    def action_reconnect(self) -> None:
        """Read everything again on a new session (or try again after a failure)."""
        if self.state == "unavailable":
            return
        self._started = True
        self.connect()


def events_pane(context: AppContext):
    """PANES entry for tab 6."""
    yield EventsPane(context)
