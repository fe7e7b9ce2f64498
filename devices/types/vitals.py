"""`vitals`: a set of vital signs from a wearable or spot-check device."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, model_validator

from devices.envelope import Data, Envelope


class VitalsData(Data):
    """Any non-empty subset of the NEWS2 parameters.

    Bounds reject readings no living person produces (sensor faults, unit
    mix-ups), not merely alarming ones: alarming values are the point.
    """

    heart_rate: float | None = Field(default=None, ge=20, le=250, description="beats per minute")
    resp_rate: float | None = Field(default=None, ge=2, le=70, description="breaths per minute")
    spo2: float | None = Field(default=None, ge=50, le=100, description="oxygen saturation, %")
    systolic_bp: float | None = Field(default=None, ge=50, le=280, description="mmHg")
    diastolic_bp: float | None = Field(default=None, ge=20, le=180, description="mmHg")
    temperature: float | None = Field(default=None, ge=30, le=44, description="body, °C")
    on_oxygen: bool | None = Field(default=None, description="on supplemental oxygen")
    consciousness: Literal["A", "C", "V", "P", "U"] | None = Field(
        default=None, description="ACVPU scale"
    )

    @model_validator(mode="after")
    def _plausible_together(self) -> Self:
        if not self.model_fields_set:
            raise ValueError("vitals needs at least one parameter")
        if all(getattr(self, name) is None for name in self.model_fields_set):
            raise ValueError("vitals needs at least one non-null parameter")
        if (
            self.systolic_bp is not None
            and self.diastolic_bp is not None
            and self.diastolic_bp >= self.systolic_bp
        ):
            raise ValueError("diastolic_bp must be below systolic_bp")
        return self


class VitalsTelemetry(Envelope):
    type: Literal["vitals"]
    data: VitalsData
