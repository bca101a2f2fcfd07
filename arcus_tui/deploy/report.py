"""What a deploy run did: the state of every (step, target), for retry and for exit codes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Optional

from arcus_tui.events import HostState

from .plan import Plan, Step, StepId


@dataclass(frozen=True)
class Outcome:
    state: HostState
    message: str = ""


@dataclass
class DeployReport:
    plan: Plan
    outcomes: dict[tuple[StepId, str], Outcome] = field(default_factory=dict)

    def set(self, step: StepId, target: str, state: HostState, message: str = "") -> None:
        self.outcomes[(step, target)] = Outcome(state, message)

    def get(self, step: StepId, target: str) -> Optional[Outcome]:
        return self.outcomes.get((step, target))

    def succeeded(self, step: StepId, target: str) -> bool:
        outcome = self.get(step, target)
        return outcome is not None and outcome.state.succeeded

    def step_succeeded(self, step: Step) -> bool:
        return all(self.succeeded(step.id, target) for target in step.targets)

    def any_succeeded(self, step: Step) -> bool:
        return any(self.succeeded(step.id, target) for target in step.targets)

    @property
    def ok(self) -> bool:
        return all(self.step_succeeded(step) for step in self.plan.steps)

    def failures(self) -> Iterator[tuple[StepId, str, Outcome]]:
        for step in self.plan.steps:
            for target in step.targets:
                outcome = self.get(step.id, target)
                if outcome is None or not outcome.state.succeeded:
                    yield step.id, target, outcome or Outcome(HostState.PENDING, "not run")
