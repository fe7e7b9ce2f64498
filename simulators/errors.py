"""The simulator's one root exception."""

from __future__ import annotations


class SimulatorError(Exception):
    """Something the simulator cannot do as asked (bad option, missing credentials, ...)."""


class InjectionError(SimulatorError, ValueError):
    """A scenario injection string that does not follow the grammar."""

    def __init__(self, text: str, problem: str) -> None:
        shown = text if len(text) <= 80 else text[:77] + "..."
        super().__init__(f"bad injection {shown!r}: {problem}")
        self.text = text
        self.problem = problem
