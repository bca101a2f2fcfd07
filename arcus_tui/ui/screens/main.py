"""The main screen: numbered tabs Grid / Setup / Logs / ZooKeeper / Monitor / Events."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable, Optional

from textual.binding import Binding
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Header, Static, TabbedContent, TabPane, Tabs

from arcus_tui.model import Cluster
from arcus_tui.model import edit as layout
from arcus_tui.model.edit import ClusterDocument, EditError

from ..gate import GRID_EDITS, Gate
from ..panes import PANES
from ..panes.setup import SetupPane
from ..widgets.empty_state import EmptyState
from ..widgets.steady_footer import SteadyFooter
from ..widgets.host_grid import HostBox, HostGrid
from .edit_prompts import AskHostScreen, AskNumberScreen, ConfirmScreen
from .live_config import LiveConfigScreen

TABS: tuple[tuple[str, str], ...] = (
    ("grid", "Grid"),
    ("setup", "Setup"),
    ("logs", "Logs"),
    ("zookeeper", "ZooKeeper"),
    ("monitor", "Monitor"),
    ("events", "Events"),
)
"""(pane id, label) in key order: key 1 shows the first, 6 the last."""


def cluster_summary(cluster: Cluster, path: Optional[str], read_only: bool, modified: bool = False) -> Content:
    nodes = sum(1 for _ in cluster.nodes())
    if cluster.zookeeper.external:
        zookeeper = f"external ZooKeeper {cluster.connect_string}"
    else:
        members = len(cluster.zookeeper_hosts)
        zookeeper = f"{members} ZooKeeper member{'s' if members != 1 else ''}"
    parts: list[str | tuple[str, str]] = [
        ("service code ", "$foreground-muted"),
        (cluster.service_code, "bold"),
        (
            f"  ·  {len(cluster.hosts)} host{'s' if len(cluster.hosts) != 1 else ''}"
            f"  ·  {zookeeper}  ·  {nodes} memcached node{'s' if nodes != 1 else ''}",
            "$foreground-muted",
        ),
    ]
    if path:
        parts.append((f"  ·  {path}", "$foreground-muted"))
    if modified:
        parts.append(("  ·  ", "$foreground-muted"))
        parts.append(("modified", "bold $warning"))
    if read_only:
        parts.append(("  ·  ", "$foreground-muted"))
        parts.append(("READ-ONLY", "bold $warning"))
    return Content.assemble(*parts)


FIRST_MEMCACHED_PORT = 11211


NO_CLUSTER_STEPS = (
    "Start arcus-tui with the cluster file of your cloud:   arcus-tui cluster.toml",
    "Have an arcus.sh JSON?   arcus-tui import-arcus conf/NAME.json -z ZK1:2181,... -o cluster.toml",
    "Starting fresh? Copy sample_clusters/colocated.toml and edit it (docs/cluster-file.md).",
    "Want to practise first?   arcus-tui sandbox up -o sandbox.toml   (three hosts on this machine)",
)
"""The empty Grid's next steps when arcus-tui was started without a cluster file."""


def no_hosts_steps(path: Optional[str]) -> tuple[str, ...]:
    """The empty Grid's next steps when the cluster file has no host yet."""
    where = path or "the cluster file"
    return (
        f"Add a [[host]] table per server to {where}, with its name, address and roles.",
        "docs/cluster-file.md shows every key; sample_clusters/ has complete examples.",
        f"Then check it and start again:   arcus-tui check {where}",
    )


def next_free_port(cluster: Cluster, host_name: str) -> int:
    """The port `+` suggests: after the host's highest memcached port, skipping taken ones."""
    host = cluster.host(host_name)
    taken = set(host.ports) | {host.ssh_port}
    if host.zookeeper:
        zookeeper = cluster.zookeeper
        taken |= {zookeeper.client_port, zookeeper.quorum_port, zookeeper.election_port}
    port = max(host.ports) + 1 if host.ports else FIRST_MEMCACHED_PORT
    while port in taken and port < 65535:
        port += 1
    return port


class MainScreen(Screen[None]):
    """Header, the numbered tabs (`TABS`) and the footer with key hints."""

    AUTO_FOCUS = "HostBox"

    BINDINGS = [
        Binding("1", "show_tab('grid')", "Tabs", key_display=f"1-{len(TABS)}"),
        *(
            Binding(str(number), f"show_tab('{tab}')", label, show=False)
            for number, (tab, label) in enumerate(TABS[1:], 2)
        ),
        # --- Grid: layout edits on the focused host box (saved with ctrl+s) ---
        Binding("a", "add_host", "Edit", key_display="a d z + - m"),
        Binding("d", "delete_host", "Delete host", show=False),
        Binding("z", "toggle_zookeeper", "Toggle ZooKeeper", show=False),
        Binding("plus", "add_port", "Add port", show=False, key_display="+"),
        Binding("minus", "remove_port", "Remove port", show=False, key_display="-"),
        Binding("m", "set_memlimit", "Set memlimit", show=False),
        Binding("L", "live_config", "Apply live config", show=False),
        Binding("ctrl+s", "save", "Save"),
    ]

    def __init__(self, cluster: Optional[Cluster], path: Optional[str], read_only: bool) -> None:
        super().__init__(classes="-read-only" if read_only else "")
        self.cluster = cluster
        self.path = path
        self.read_only = read_only
        self.document: Optional[ClusterDocument] = None
        self.document_problem = "no cluster file to edit"
        if cluster is not None and path:
            try:
                self.document = ClusterDocument.load(path)
            except (OSError, UnicodeDecodeError) as error:
                self.document_problem = f"cannot edit {path}: {getattr(error, 'strerror', None) or error}"
            except EditError as error:
                self.document_problem = error.problems[0]

    def compose(self):
        yield Header()
        with TabbedContent(initial="grid", id="tabs"):
            for number, (tab, label) in enumerate(TABS, 1):
                with TabPane(f"{number} {label}", id=tab):
                    if tab == "grid":
                        yield from self._grid()
                    else:
                        yield from PANES[tab](self.app.context)
        yield SteadyFooter()

    has_grid = False
    """Whether the Grid tab holds a HostGrid (set once, at compose): asked on every binding check."""

    def _grid(self):
        if self.cluster is None:
            yield EmptyState("No cluster file", NO_CLUSTER_STEPS, id="no-cluster")
            return
        yield Static(cluster_summary(self.cluster, self.path, self.read_only), id="cluster-summary")
        yield Static("", id="grid-problems")
        if self.cluster.hosts:
            self.has_grid = True
            yield HostGrid(self.cluster, feed=self.app.context.monitor, id="host-grid")
        else:
            yield EmptyState("No hosts yet", no_hosts_steps(self.path), id="no-hosts")

    def action_show_tab(self, tab: str) -> None:
        tabs = self.query_one(TabbedContent)
        tabs.active = tab  # shows the pane at once (its watcher is synchronous)
        self._focus_pane(tabs.get_pane(tab))  # now, so that a key typed next lands in it

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        """A tab shown by a click (or a key, again): the focus goes into its pane, unless a key
        typed since already moved it somewhere in that pane."""
        focused = self.focused
        if focused is None or event.pane not in focused.ancestors:
            self._focus_pane(event.pane)

    def _focus_pane(self, pane: TabPane) -> None:
        """Focus the pane's own target: the first child with `focus_default()` (the Grid's cursor
        box, ...) decides. A pane without one gets the tab bar, and its `on_show` may move on."""
        target = next((child for child in pane.children if callable(getattr(child, "focus_default", None))), None)
        if target is not None:
            target.focus_default()
        else:
            self.set_focus(self.query_one(TabbedContent).query_one(Tabs))

    # --- Grid: layout edits -------------------------------------------------------------
    # The grid owns the cluster file's document; every edit is checked like the file
    # itself (`ClusterDocument.apply`) and redraws the boxes. The other tabs get the
    # layout when it is saved (`app.context.cluster`, see `_use_saved_layout`).

    @property
    def unsaved(self) -> bool:
        return self.document is not None and self.document.modified

    @property
    def run_in_progress(self) -> bool:
        return self.app.runs.running

    @property
    def gate(self) -> Gate:
        """What may change now (`ui/gate.py`): every mutating key of this screen asks it."""
        return Gate(read_only=self.read_only, running=self.run_in_progress, unsaved=self.unsaved)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in GRID_EDITS and not self._on_grid():
            return False
        return self.gate.check(action)

    def _on_grid(self) -> bool:
        try:
            # not `query(HostGrid)`: the footer asks this per binding on every focus change,
            # and a query walks every widget of the screen (200 boxes, 200 logs...)
            return self.has_grid and self.query_one(TabbedContent).active == "grid"
        except Exception:  # not composed yet
            return False

    def gate_changed(self) -> None:
        """Something the gate weighs changed (an edit, a save, a run began or ended): the footer
        and the Setup tab show what is on now."""
        self.refresh_bindings()
        for pane in self.query(SetupPane):
            pane.gate_changed()

    def _editable(self) -> bool:
        if self.gate.check("save") is not True:  # called anyway (a test, the palette)
            self.notify("The layout cannot be edited now (read-only, or a run is in progress).",
                        title="Not now", severity="warning")
            return False
        if self.document is None:
            self.notify(self.document_problem, title="Cannot edit", severity="error")
            return False
        return True

    def _focused_host(self) -> Optional[str]:
        box = self.query_one(HostGrid).cursor_box  # where the keys act, even typed ahead
        if isinstance(box, HostBox) and box.is_attached:
            return box.host.name
        self.notify("Focus a host box first.", severity="warning")
        return None

    def _show_problems(self, problems: list[str]) -> None:
        widget = self.query_one("#grid-problems", Static)
        widget.update(Content("\n".join(problems)))
        widget.set_class(bool(problems), "-has-problems")
        if problems:
            self.notify("\n".join(problems), title="Edit refused", severity="error", timeout=10)

    def _refresh_summary(self) -> None:
        modified = self.unsaved
        self.query_one("#cluster-summary", Static).update(
            cluster_summary(self.cluster, self.path, self.read_only, modified))
        self.gate_changed()

    async def _apply(self, edit: Callable[..., None], *args: Any, focus: Optional[str] = None) -> bool:
        assert self.document is not None
        try:
            cluster = self.document.apply(edit, *args)
        except EditError as error:
            self._show_problems(error.problems)
            return False
        self.cluster = cluster
        self._show_problems([])
        await self.query_one(HostGrid).show(cluster, focus)
        self._refresh_summary()
        return True

    def action_add_host(self) -> None:
        if not self._editable():
            return

        async def add(answer: Optional[tuple[str, str]]) -> None:
            if answer:
                await self._apply(layout.add_host, *answer, focus=answer[0])

        self.app.push_screen(AskHostScreen(), add)

    def action_delete_host(self) -> None:
        if not self._editable() or (name := self._focused_host()) is None:
            return

        async def delete(yes: Optional[bool]) -> None:
            if yes:
                await self._apply(layout.remove_host, name)

        self.app.push_screen(ConfirmScreen("Delete host", f"Remove {name} from the layout?"), delete)

    async def action_toggle_zookeeper(self) -> None:
        if self._editable() and (name := self._focused_host()) is not None:
            await self._apply(layout.toggle_zookeeper, name, focus=name)

    def action_add_port(self) -> None:
        if not self._editable() or (name := self._focused_host()) is None:
            return

        async def add(port: Optional[int]) -> None:
            if port is not None:
                await self._apply(layout.add_port, name, port, focus=name)

        self.app.push_screen(AskNumberScreen(f"Add memcached on {name}", "Port of the new memcached node:",
                                             next_free_port(self.cluster, name)), add)

    def _ports_note(self, name: str) -> str:
        return "Ports: " + ", ".join(str(port) for port in self.cluster.host(name).ports)

    def _focused_nodes(self) -> Optional[tuple[str, tuple[int, ...]]]:
        """(host name, its memcached ports) of the focused box, when a node edit can go on."""
        if not self._editable() or (name := self._focused_host()) is None:
            return None
        ports = self.cluster.host(name).ports
        if not ports:
            self.notify(f"{name} has no memcached node.", severity="warning")
            return None
        return name, ports

    def action_remove_port(self) -> None:
        if (focused := self._focused_nodes()) is None:
            return
        name, ports = focused

        async def remove(port: Optional[int]) -> None:
            if port is not None:
                await self._apply(layout.remove_port, name, port, focus=name)

        self.app.push_screen(AskNumberScreen(f"Remove memcached from {name}", "Port to remove:",
                                             ports[-1], self._ports_note(name)), remove)

    def action_set_memlimit(self) -> None:
        if (focused := self._focused_nodes()) is None:
            return
        name, ports = focused

        def ask_memlimit(port: Optional[int]) -> None:
            if port is None:
                return
            current = next((node.settings.memlimit for node in self.cluster.nodes()
                            if node.host.name == name and node.port == port), None)
            if current is None:
                self._show_problems([f"host {name!r} has no memcached port {port}"])
                return

            async def set_memlimit(memlimit: Optional[int]) -> None:
                if memlimit is not None:
                    await self._apply(layout.set_node_setting, name, port, "memlimit", memlimit, focus=name)

            self.app.push_screen(AskNumberScreen(f"memlimit of {name}:{port}", "Memory limit in MB (-m):",
                                                 current), set_memlimit)

        if len(ports) == 1:
            ask_memlimit(ports[0])
        else:
            self.app.push_screen(AskNumberScreen(f"Set memlimit on {name}", "Port of the node:",
                                                 ports[-1], self._ports_note(name)), ask_memlimit)

    def action_live_config(self) -> None:
        """`L`: the saved file's memlimit and connections onto the running nodes, live."""
        if self.cluster is None or not self.path:
            self.notify("No cluster file to apply.", severity="warning")
        elif self.unsaved or self.run_in_progress:
            self.notify("Save first (ctrl+s), and wait for the run in progress: live configuration applies "
                        "the saved file.", title="Not now", severity="warning")
        else:
            self.app.push_screen(LiveConfigScreen(self.cluster, self.path, read_only=self.read_only))

    async def action_save(self) -> None:
        if not self._editable():
            return
        assert self.document is not None
        try:
            written = self.document.save()
        except OSError as error:
            self.notify(f"cannot save {self.path}: {error.strerror or error}", title="Not saved", severity="error")
            return
        self._refresh_summary()
        self.notify(f"saved {self.path}" if written else f"{self.path} is unchanged, nothing to save",
                    title="Saved" if written else "Save")
        if self.document.cluster != self.app.context.cluster:
            await self._use_saved_layout(self.document.cluster)

    async def _use_saved_layout(self, cluster: Cluster) -> None:
        """From a save on, the other tabs work on the saved layout: their panes are built anew
        (closing their sessions and timers). A run in progress goes on with the layout it started
        with; the panes built anew watch it from where it is (`ui/runs.py`)."""
        self.app.context = replace(self.app.context, cluster=cluster)
        for tab, label in TABS[1:]:
            pane = self.query_one(f"#{tab}", TabPane)
            await pane.remove_children()
            await pane.mount(*PANES[tab](self.app.context))
