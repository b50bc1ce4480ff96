"""Errors that services raise and views translate to a clear answer."""

from __future__ import annotations


class NavidError(Exception):
    """Base of the errors a user is meant to read."""


class ValidationFailed(NavidError):
    """Input was rejected; `errors` maps a field name to its reasons."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__("; ".join(f"{k}: {', '.join(v)}" for k, v in errors.items()))


class PermissionDenied(NavidError):
    """The actor may not do this."""


class NotFound(NavidError):
    """The record does not exist or is not visible to the actor."""


class Conflict(NavidError):
    """The action does not fit the record's current state."""
