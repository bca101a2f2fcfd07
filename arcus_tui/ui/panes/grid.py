"""The Grid tab: the cluster summary, the host boxes, and the layout edits on them.

`GridPane` owns the cluster file's document: every edit (add / delete a host, toggle ZooKeeper,
add / remove a port, set a memlimit) is checked like the file itself (`ClusterDocument.apply`)
and redraws the boxes; ctrl+s saves it, and the pane then posts `LayoutSaved` so that the tab
shell (`MainScreen`) gives the other tabs the saved layout. `L` applies the saved file live.
What may change now is the screen's `Gate` (read-only, a run in progress, unsaved edits).
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Static

from arcus_tui.model import Cluster
from arcus_tui.model import edit as layout
from arcus_tui.model.edit import ClusterDocument, EditError

from ..gate import GRID_EDITS, Gate
from ..screens.edit_prompts import AskHostScreen, AskNumberScreen, ConfirmScreen
from ..screens.live_config import LiveConfigScreen
from ..widgets.empty_state import EmptyState
from ..widgets.host_grid import HostBox, HostGrid


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


class GridPane(Vertical):
    """The Grid tab's content and its layout edits (keys on the focused host box)."""

    BINDINGS = [
        # layout edits on the focused host box (saved with ctrl+s)
        Binding("a", "add_host", "Edit", key_display="a d z + - m", id="grid.add-host"),
        Binding("d", "delete_host", "Delete host", show=False, id="grid.delete-host"),
        Binding("z", "toggle_zookeeper", "Toggle ZooKeeper", show=False, id="grid.toggle-zookeeper"),
        Binding("plus", "add_port", "Add port", show=False, key_display="+", id="grid.add-port"),
        Binding("minus", "remove_port", "Remove port", show=False, key_display="-", id="grid.remove-port"),
        Binding("m", "set_memlimit", "Set memlimit", show=False, id="grid.set-memlimit"),
        Binding("L", "live_config", "Apply live config", show=False, id="grid.live-config"),
        Binding("ctrl+s", "save", "Save", id="grid.save"),
    ]

    class LayoutSaved(Message):
        """The layout was saved and differs from the one the other tabs work on."""

        def __init__(self, cluster: Cluster) -> None:
            super().__init__()
            self.cluster = cluster

    def __init__(self, cluster: Optional[Cluster], path: Optional[str], read_only: bool) -> None:
        super().__init__(id="grid-pane")
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
        yield from self._grid()

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

    def focus_default(self) -> bool:
        """The cursor box; False when there is no box to focus."""
        if not self.has_grid:
            return False
        self.query_one(HostGrid).focus_default()
        return True

    @property
    def unsaved(self) -> bool:
        return self.document is not None and self.document.modified

    @property
    def gate(self) -> Gate:
        """The screen's gate: it weighs this pane's unsaved edits and the runs."""
        return self.screen.gate

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in GRID_EDITS and not self.has_grid:
            return False
        return self.gate.check(action)

    def gate_changed(self) -> None:
        """An edit or a save changed what the gate weighs: the screen's keys follow."""
        changed = getattr(self.screen, "gate_changed", None)
        if callable(changed):
            changed()

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
        elif self.unsaved or self.app.runs.running:
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
            self.post_message(self.LayoutSaved(self.document.cluster))
