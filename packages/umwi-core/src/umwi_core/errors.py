"""The errors umwi reports to users: each carries a one-line, secret-free message."""

from __future__ import annotations


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
