"""Errors of c2_fc_link: every error this component raises derives from `FcLinkError`."""


class FcLinkError(Exception):
    """Base class of c2_fc_link errors."""
