"""Bodies of the alert lifecycle actions."""

from __future__ import annotations

from pydantic import Field

from api.schemas.common import Input, Reason
from devices.envelope import Name


class ActionBody(Input):
    """Optional on acknowledge, dispatch and resolve."""

    reason: Reason = ""


class DispatchBody(Input):
    """A dispatch may name the worker the dispatcher chose (from the candidates)."""

    reason: Reason = ""
    worker_id: Name | None = Field(default=None, description="offer to this worker")


class CancelBody(Input):
    """A dispatcher's cancel is a false alarm, and says why."""

    reason: Reason = Field(min_length=1, pattern=r"\S", description="why it was a false alarm")
