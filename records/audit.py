"""The audit trail: who read or changed what, when.

Health data is sensitive personal information under China's PIPL, so every
read of a home's status, telemetry or alerts is recorded with the reader, the
home and what was read; admins can read the trail (and that is recorded too).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from records.schema import AuditRow, from_column


class AuditEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    audit_id: int
    at: AwareDatetime
    actor: str
    action: str
    target: str
    detail: str


class AuditLog:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def record(
        self, *, actor: str, action: str, target: str = "", detail: str = "", at: datetime
    ) -> None:
        with Session(self._engine) as session, session.begin():
            session.add(
                AuditRow(
                    at=at,
                    actor=actor[:100],
                    action=action[:100],
                    target=target[:200],
                    detail=detail[:2000],
                )
            )

    def entries(
        self,
        *,
        target: str | None = None,
        actor: str | None = None,
        limit: int = 100,
        before: int | None = None,
    ) -> list[AuditEntry]:
        """Newest first; `before` pages back from an `audit_id`."""
        query = select(AuditRow).order_by(AuditRow.audit_id.desc()).limit(limit)
        if target is not None:
            query = query.where(AuditRow.target == target)
        if actor is not None:
            query = query.where(AuditRow.actor == actor)
        if before is not None:
            query = query.where(AuditRow.audit_id < before)
        with Session(self._engine) as session:
            return [
                AuditEntry(
                    audit_id=row.audit_id,
                    at=from_column(row.at),
                    actor=row.actor,
                    action=row.action,
                    target=row.target,
                    detail=row.detail,
                )
                for row in session.scalars(query)
            ]
