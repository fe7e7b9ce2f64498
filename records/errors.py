"""Errors the record stores share."""

from __future__ import annotations


class RegistryError(Exception):
    """A registry change that cannot be made (unknown home, id taken)."""
