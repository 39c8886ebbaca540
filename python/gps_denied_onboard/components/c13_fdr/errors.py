"""Errors of c13_fdr: every error this component raises derives from `FdrError`."""


class FdrError(Exception):
    """Base class of c13_fdr errors."""
