"""Errors of c9_integrity: every error this component raises derives from `IntegrityError`."""


class IntegrityError(Exception):
    """Base class of c9_integrity errors."""
