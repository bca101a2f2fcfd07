"""The Setup tab's rolling restarts: `R` restarts the memcached nodes one at a time, `Z` the
ZooKeeper members (followers first, the leader last), each after the operator has read the
order in the confirm modal and said y.

The plans are `deploy/rolling.py`'s, run through the app's `RunController` like a setup, so
the matrix shows a row per restart and per check and where the run stands. The keys follow
the setup's gate (`ui/gate.py`): hidden in read-only mode, off while a run is in progress or
the layout has unsaved edits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from arcus_tui.deploy.plan import Plan, PlanOptions
from arcus_tui.deploy.rolling import RollingRefused, live_memcached_rolling_plan, order_lines, zookeeper_rolling_plan

from .runs import KIND_TITLES
from .screens.confirm_setup import ConfirmSetupScreen

if TYPE_CHECKING:
    from .panes.setup import SetupPane

ROLLING_KINDS = {"memcached": "rolling-memcached", "zookeeper": "rolling-zookeeper"}
"""The run kinds (`RunState.kind`, the audit trail's name)."""
ROLLING_KEYS = {"rolling-memcached": "R", "rolling-zookeeper": "Z"}


async def rolling_plan(pane: "SetupPane", role: str) -> Plan:
    """The rolling plan of the pane's cluster as it is now (memcached's reads cache_list, to put
    the nodes out of it first; ZooKeeper's asks each member's mode, to put the leader last)."""
    if role == "memcached":
        plan, _ = await live_memcached_rolling_plan(pane.cluster, options=PlanOptions())
        return plan
    return await zookeeper_rolling_plan(pane.cluster, PlanOptions())


def start_rolling(pane: "SetupPane", role: str) -> None:
    """Build the plan, show its order, and run it once the operator says y."""
    if pane.cluster is None:
        return
    if not pane.allowed(f"rolling_{role}", "Restarting"):
        return
    pane.run_worker(_ask_and_run(pane, role), group="rolling-plan", exclusive=True, exit_on_error=False)


async def _ask_and_run(pane: "SetupPane", role: str) -> None:
    kind = ROLLING_KINDS[role]
    title = KIND_TITLES[kind]
    try:
        plan = await rolling_plan(pane, role)
    except RollingRefused as refusal:
        pane.notify(str(refusal), title=f"{title} refused", severity="error", timeout=10)
        return

    def confirmed(yes: Optional[bool]) -> None:
        if yes:
            pane.launch(kind, plan, None)
        else:
            pane.notify(f"{title} not confirmed: nothing was changed.")

    pane.app.push_screen(ConfirmSetupScreen(
        pane.cluster.service_code, summary(plan, role), order_lines(plan),
        title=f"{title} · {pane.cluster.service_code}", question="Restart in this order now?"), confirmed)


def summary(plan: Plan, role: str) -> str:
    restarts = len(plan.steps) // 2  # a restart step and its check per batch (member)
    noun = ("batch", "batches") if role == "memcached" else ("ZooKeeper member", "ZooKeeper members")
    return (f"{restarts} {noun[restarts != 1]} of service code {plan.cluster.service_code}, one after the "
            "other: each waits until the one before serves again, and the first that does not stops the run")
