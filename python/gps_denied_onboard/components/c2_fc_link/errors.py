"""Errors of c2_fc_link: every error this component raises derives from `FcLinkError`."""


class FcLinkError(Exception):
    """Base class of c2_fc_link errors."""


class FcLinkConfigError(FcLinkError, ValueError):
    """The link's URL or settings cannot be used (bad scheme, port, baud rate)."""


class FcLinkTransportError(FcLinkError, OSError):
    """The serial port or UDP socket could not be opened."""


class FcLinkValueError(FcLinkError, ValueError):
    """A value handed to the link cannot be sent (NaN, out of range, singular covariance)."""


class FcLinkClosedError(FcLinkError):
    """The link was used after `stop()`."""
