"""C9 integrity: fix gating, fault detection, health state, GNSS-vs-vision consistency."""

from gps_denied_onboard.components.c9_integrity.errors import IntegrityError

__all__ = ["IntegrityError"]
