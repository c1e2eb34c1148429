"""The errors umwi reports to users: each carries a one-line, secret-free message."""

from __future__ import annotations

from pydantic import ValidationError


class UmwiError(Exception):
    """Base of every error whose message is meant for the user as is."""


class SettingsError(UmwiError):
    """A missing or unsafe setting; the message names the variable."""


class LakeError(UmwiError):
    """Reading or writing the lake failed."""


class ConflictError(LakeError):
    """A conditional write lost against a concurrent writer."""


class LedgerError(UmwiError):
    """The state ledger refused or failed an operation."""


class InputError(UmwiError):
    """Input that cannot be used as a whole (a file lacking a required column, …)."""


class SourceError(UmwiError):
    """A data source answered with an error or could not be reached."""


def first_problem(error: ValidationError) -> tuple[list[str], str]:
    """The first error of a validation: its field path and its message (without
    pydantic's "Value error, " prefix), for a one-line report naming the field."""
    first = error.errors()[0]
    where = [str(part) for part in first.get("loc", ()) if part != "__root__"]
    return where, str(first.get("msg", "invalid value")).removeprefix("Value error, ")
