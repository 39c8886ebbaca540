"""Errors of c10_provisioning: every error this component raises derives from `ProvisioningError`."""

from __future__ import annotations

from typing import Any


class ProvisioningError(Exception):
    """Base class of c10_provisioning errors."""


class BuildInputError(ProvisioningError):
    """A build input is invalid: `name` says which, `value` is the bad value."""

    def __init__(self, name: str, value: Any, expected: str) -> None:
        super().__init__(f"{name}={value!r} is invalid: expected {expected}")
        self.name = name
        self.value = value
        self.expected = expected


class BuildLockHeldError(ProvisioningError):
    """Another process is building into the same cache directory (`lock_path`)."""

    def __init__(self, lock_path: str) -> None:
        super().__init__(f"another provisioning run holds the build lock {lock_path}; wait for it or stop it")
        self.lock_path = lock_path


class EmptyTileCorpusError(ProvisioningError):
    """The source has no tile in the requested bbox. `hint` tells the operator what to check."""

    def __init__(self, bbox: Any, source: str, hint: str) -> None:
        super().__init__(f"no map tiles for bbox {bbox} from {source}. Hint: {hint}")
        self.bbox = bbox
        self.source = source
        self.hint = hint


class ManifestCoverageError(ProvisioningError):
    """Strict coverage check failed: the tiles cover `coverage` of the bbox, below `required`.
    The previous cache (and its manifest) is left in place."""

    def __init__(self, coverage: float, required: float, hint: str = "") -> None:
        super().__init__(f"map tiles cover {coverage:.1%} of the bbox, {required:.1%} required (strict); "
                         f"previous cache kept{'. ' + hint if hint else ''}")
        self.coverage = coverage
        self.required = required


class OperatorKeyError(ProvisioningError):
    """The operator signing key file (`path`) is missing, unreadable or not Ed25519."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"operator key {path}: {reason}")
        self.path = path
        self.reason = reason


class EngineCompileError(ProvisioningError):
    """A model (`model`) could not be compiled or validated for the runtime."""

    def __init__(self, model: str, reason: str) -> None:
        super().__init__(f"engine compilation of {model} failed: {reason}")
        self.model = model
        self.reason = reason


class DescriptorBatchError(ProvisioningError):
    """The descriptor extractor (`extractor`) returned something unusable for batch `batch`."""

    def __init__(self, extractor: str, batch: int, value: Any, expected: str) -> None:
        super().__init__(f"descriptor extractor {extractor!r}, batch {batch}: got {value}, expected {expected}")
        self.extractor = extractor
        self.batch = batch
        self.value = value
        self.expected = expected
