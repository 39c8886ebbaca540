"""Errors of the autopilot emulator: all derive from `EmulatorError`."""


class EmulatorError(Exception):
    """Base class of autopilot emulator errors."""


class EmulatorConfigError(EmulatorError, ValueError):
    """The emulator cannot run with this track or configuration."""
