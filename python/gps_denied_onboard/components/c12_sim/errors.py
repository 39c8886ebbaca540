"""Errors of c12_sim: every error this component raises derives from `SimError`."""


class SimError(Exception):
    """Base class of c12_sim errors."""
