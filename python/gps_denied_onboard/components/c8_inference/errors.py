"""Errors of c8_inference: every error this component raises derives from `InferenceError`."""


class InferenceError(Exception):
    """Base class of c8_inference errors."""
