"""Errors of c8_inference: every error this component raises derives from `InferenceError`."""

from __future__ import annotations

from typing import Any


class InferenceError(Exception):
    """Base class of c8_inference errors."""


class BackendUnavailableError(InferenceError):
    """The requested runtime (`backend`) is not installed or has no usable device here."""

    def __init__(self, backend: str, reason: str) -> None:
        super().__init__(f"inference backend {backend!r} unavailable: {reason}")
        self.backend = backend
        self.reason = reason


class ModelLoadError(InferenceError):
    """A model or engine file (`source`) could not be loaded by the runtime."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"cannot load model {source}: {reason}")
        self.source = source
        self.reason = reason


class InferenceInputError(InferenceError):
    """An input tensor does not match the model (`name`, the bad `value`, what was `expected`)."""

    def __init__(self, model: str, name: str, value: Any, expected: str) -> None:
        super().__init__(f"model {model}: input {name!r} is {value}, expected {expected}")
        self.model = model
        self.name = name
        self.value = value
        self.expected = expected
