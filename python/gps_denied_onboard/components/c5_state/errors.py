"""Errors of c5_state: every error this component raises derives from `StateError`."""


class StateError(Exception):
    """Base class of c5_state errors."""
