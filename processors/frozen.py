"""Frozen models built from values that are already valid, without validating them again.

Detectors run on every reading they read, and re-validating a state or an evidence entry
whose every part came from validated telemetry cost more than the decisions
themselves. What these build is equal to, and serialises like, the validated
model; they must only ever be given values the model would accept unchanged,
and only for frozen models.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

ModelT = TypeVar("ModelT", bound=BaseModel)

_new = object.__new__  # BaseModel has no __new__ of its own
# The four slots every pydantic model has, set through their descriptors directly.
_set_dict = BaseModel.__dict__["__dict__"].__set__
_set_fields_set = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private = BaseModel.__dict__["__pydantic_private__"].__set__
_ALL_FIELDS: dict[type[BaseModel], set[str]] = {}
"""Per model class, the names of all its fields: shared by every model built here, since
a frozen model never changes it in place (`model_copy` copies it first)."""


def construct(cls: type[ModelT], fields: dict[str, Any]) -> ModelT:
    """A model from already-valid values for EVERY field, without validation.

    Several times cheaper than `model_construct` (which also fills defaults and checks names).
    """
    obj = _new(cls)
    _set_dict(obj, fields)
    names = _ALL_FIELDS.get(cls)
    if names is None:
        names = _ALL_FIELDS[cls] = set(cls.__pydantic_fields__)
    _set_fields_set(obj, names)
    _set_extra(obj, None)
    _set_private(obj, None)
    return obj


def replace(model: ModelT, update: dict[str, Any]) -> ModelT:
    """`model.model_copy(update=update)`, equal to it, built more cheaply."""
    return construct(type(model), {**model.__dict__, **update})
