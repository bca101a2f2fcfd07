"""The Setup matrix at fleet size: 200 host columns, one event redraws one cell.

What is drawn is read from the widget (`render_line`), and what is redrawn is counted
where DataTable renders a cell (`console.render_lines`, called once per cell it draws).
"""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult
from textual.renderables.styled import Styled

from arcus_tui.deploy.plan import ENSEMBLE, StepId, setup_plan
from arcus_tui.deploy.probe import Finding, ProbeResult, Verdict
from arcus_tui.events import GATEWAY, HostState, ProgressEvent
from arcus_tui.model import parse_cluster
from arcus_tui.ui.widgets.setup_matrix import TIME_COLUMN, SetupMatrix

HOSTS = 200
SIZE = (120, 30)


def fleet(hosts: int = HOSTS):
    lines = ['[cluster]', 'service_code = "scale-cloud"', 'user = "arcus"']
    for index in range(hosts):
        lines += ["", "[[host]]", f'name = "c{index + 1:03d}"', f'address = "127.1.{index // 250}.{index % 250 + 1}"',
                  "memcached = [11211]"]
        if index < 3:
            lines.append("zookeeper = true")
    result = parse_cluster("\n".join(lines) + "\n", "fleet.toml")
    assert result.ok, [p.format("fleet.toml") for p in result.problems]
    return result.cluster


class MatrixApp(App):
    def compose(self) -> ComposeResult:
        yield SetupMatrix(id="matrix")


class DrawCounter:
    """Counts the cells DataTable draws: it renders each one, wrapped in `Styled`, through
    `console.render_lines` (which Rich calls again inside for the padding: not counted)."""

    def __init__(self, app: App):
        self.count = 0
        real = app.console.render_lines

        def counted(renderable, *args, **kwargs):
            self.count += isinstance(renderable, Styled)
            return real(renderable, *args, **kwargs)

        app.console.render_lines = counted

    def take(self) -> int:
        count, self.count = self.count, 0
        return count


def screen_lines(matrix: SetupMatrix) -> list[str]:
    return [matrix.render_line(y).text for y in range(matrix.size.height)]


def row_line(matrix: SetupMatrix, step: StepId) -> str:
    """The row of `step` as drawn now (the header is line 0, rows follow in plan order)."""
    index = [s.id for s in matrix.plan.steps].index(step)
    return matrix.render_line(1 + index).text


async def shown(pilot) -> SetupMatrix:
    matrix = pilot.app.query_one(SetupMatrix)
    matrix.show_plan(setup_plan(fleet()))
    lines = screen_lines(matrix)  # reading the screen once fills the caches a read uses
    for _ in range(5):  # settled: the first layout passes (a resize) redraw everything
        await pilot.pause()
        lines, before = screen_lines(matrix), lines
        if lines == before:
            break
    return matrix


async def test_one_event_redraws_its_cell_and_its_step_time_only():
    app = MatrixApp()
    async with app.run_test(size=SIZE) as pilot:
        matrix = await shown(pilot)
        counter = DrawCounter(app)
        before = screen_lines(matrix)
        values = {(s.id.value, t): matrix.get_cell(s.id.value, t) for s in matrix.plan.steps for t in s.targets}

        assert matrix.apply(ProgressEvent("c001", StepId.COPY_KEY.value, state=HostState.RUNNING))
        await pilot.pause()

        assert counter.take() == 2  # the cell and its step's time, not the 200 columns of 10 rows
        after = screen_lines(matrix)
        changed = [y for y in range(len(after)) if after[y] != before[y]]
        copy_key_y = 1 + [s.id for s in matrix.plan.steps].index(StepId.COPY_KEY)
        assert changed == [copy_key_y]
        assert "⠋ running" in after[copy_key_y] and "0.0s" not in before[copy_key_y]
        untouched = [key for key, value in values.items() if matrix.get_cell(*key) is not value]
        assert untouched == [(StepId.COPY_KEY.value, "c001")]


async def test_an_event_of_a_column_off_screen_shows_when_scrolled_to():
    app = MatrixApp()
    async with app.run_test(size=SIZE) as pilot:
        matrix = await shown(pilot)
        counter = DrawCounter(app)
        matrix.apply(ProgressEvent("c200", StepId.VERIFY_LOGIN.value, state=HostState.FAILED, text="refused"))
        await pilot.pause()
        assert counter.take() <= 2
        assert "c200" not in matrix.render_line(0).text  # 200 columns do not fit: it is off to the right

        matrix.cursor_coordinate = (1 + 1, 1 + matrix.targets.index("c200"))  # verify-login row, c200 column
        await pilot.pause()
        assert "c200" in matrix.render_line(0).text
        line = row_line(matrix, StepId.VERIFY_LOGIN)
        assert line.strip().startswith("3. Prove password-less login")  # the step column stays fixed on the left
        assert "✗ failed" in line


async def test_tick_redraws_running_cells_only_and_repaint_redraws_all():
    app = MatrixApp()
    async with app.run_test(size=SIZE) as pilot:
        matrix = await shown(pilot)
        for host in ("c001", "c002"):
            matrix.apply(ProgressEvent(host, StepId.COPY_KEY.value, state=HostState.RUNNING))
        matrix.apply(ProgressEvent("c003", StepId.COPY_KEY.value, state=HostState.OK, duration=1.0))
        await pilot.pause()
        counter = DrawCounter(app)

        matrix.tick()
        await pilot.pause()
        assert counter.take() == 3  # two spinners and the step's clock
        assert "⠙ running" in row_line(matrix, StepId.COPY_KEY)

        matrix.apply(ProgressEvent("c001", StepId.COPY_KEY.value, state=HostState.OK, duration=2.0))
        matrix.apply(ProgressEvent("c002", StepId.COPY_KEY.value, state=HostState.OK, duration=2.0))
        await pilot.pause()
        counter.take()
        matrix.tick()
        await pilot.pause()
        assert counter.take() == 0  # nothing runs: a tick draws nothing

        matrix.repaint()
        await pilot.pause()
        assert counter.take() > 100  # a theme change draws every visible cell again


async def test_a_running_cell_off_screen_waits_for_its_spinner_until_it_is_in_view():
    app = MatrixApp()
    async with app.run_test(size=SIZE) as pilot:
        matrix = await shown(pilot)
        matrix.apply(ProgressEvent("c200", StepId.COPY_KEY.value, state=HostState.RUNNING))
        await pilot.pause()
        counter = DrawCounter(app)
        matrix.tick()
        await pilot.pause()
        assert counter.take() == 1  # the step's clock; the spinner out of view is not redrawn

        matrix.cursor_coordinate = (1, 1 + matrix.targets.index("c200"))
        await pilot.pause()
        assert "⠋ running" in row_line(matrix, StepId.COPY_KEY)  # the frame it had
        matrix.tick()
        await pilot.pause()
        assert "⠹ running" in row_line(matrix, StepId.COPY_KEY)  # in view, it turns again


async def test_show_probe_marks_done_cells_and_says_why_of_the_others():
    app = MatrixApp()
    async with app.run_test(size=SIZE) as pilot:
        matrix = await shown(pilot)
        probe = ProbeResult()
        probe.set(StepId.MAKE_KEY, GATEWAY, Verdict(Finding.DONE, "/home/op/.ssh/id_ed25519 exists"))
        probe.set(StepId.COPY_KEY, "c001", Verdict(Finding.DONE, "the gateway key logs in"))
        probe.set(StepId.COPY_KEY, "c002", Verdict(Finding.TO_DO, "login refused"))
        probe.set(StepId.ZOOKEEPER_QUORUM, ENSEMBLE, Verdict(Finding.UNKNOWN, "no answer"))
        matrix.apply(ProgressEvent("c003", StepId.COPY_KEY.value, state=HostState.FAILED))
        probe.set(StepId.COPY_KEY, "c003", Verdict(Finding.DONE, "late"))  # a run's own outcome wins
        await pilot.pause()
        counter = DrawCounter(app)

        assert matrix.show_probe(probe) == 2
        await pilot.pause()
        assert counter.take() <= 4 * 2  # the probed cells' lines, not the matrix
        assert "= already-done" in row_line(matrix, StepId.MAKE_KEY)
        copy_key = row_line(matrix, StepId.COPY_KEY)
        assert copy_key.count("= already-done") == 1 and "· pending" in copy_key and "✗ failed" in copy_key
        assert matrix.cell(StepId.COPY_KEY.value, "c002").message == "probe: to do (login refused)"
        assert matrix.cell(StepId.ZOOKEEPER_QUORUM.value, ENSEMBLE).message == "probe: unknown (no answer)"
        assert matrix.cell(StepId.COPY_KEY.value, "c001").message == "the gateway key logs in"


@pytest.mark.parametrize("hosts", [3, HOSTS])
async def test_columns_keep_every_target_and_the_time(hosts):
    app = MatrixApp()
    async with app.run_test(size=SIZE) as pilot:
        matrix = pilot.app.query_one(SetupMatrix)
        matrix.show_plan(setup_plan(fleet(hosts)))
        await pilot.pause()
        keys = [column.key.value for column in matrix.ordered_columns]
        assert keys[1:-1] == matrix.targets and keys[-1] == TIME_COLUMN
        assert len(matrix.targets) == hosts + 2  # the gateway and the ensemble too
        assert matrix.fixed_columns == 1
