"""C10 provisioning (operator only): builds a signed map cache: tiles -> engines -> descriptors -> manifest.

    report = CacheProvisioner(extractor=...).build_cache_artifacts(BuildRequest(...))
"""

from gps_denied_onboard.components.c10_provisioning.descriptors import DescriptorBatcher, DescriptorSet
from gps_denied_onboard.components.c10_provisioning.engines import EngineCompiler
from gps_denied_onboard.components.c10_provisioning.errors import (
    BuildInputError,
    BuildLockHeldError,
    DescriptorBatchError,
    EmptyTileCorpusError,
    EngineCompileError,
    ManifestCoverageError,
    OperatorKeyError,
    ProvisioningError,
)
from gps_denied_onboard.components.c10_provisioning.interface import (
    BBox,
    BuildReport,
    BuildRequest,
    EngineArtifact,
    NullProgress,
    ProgressBar,
    ProgressFactory,
    TileSource,
    null_progress,
)
from gps_denied_onboard.components.c10_provisioning.keys import (
    generate_operator_key,
    operator_key,
    operator_public_key,
    public_key_path,
)
from gps_denied_onboard.components.c10_provisioning.manifest_builder import ManifestBuilder, ManifestFields
from gps_denied_onboard.components.c10_provisioning.provisioner import CacheProvisioner, coverage_fraction

__all__ = [
    "BBox",
    "BuildInputError",
    "BuildLockHeldError",
    "BuildReport",
    "BuildRequest",
    "CacheProvisioner",
    "DescriptorBatchError",
    "DescriptorBatcher",
    "DescriptorSet",
    "EmptyTileCorpusError",
    "EngineArtifact",
    "EngineCompileError",
    "EngineCompiler",
    "ManifestBuilder",
    "ManifestCoverageError",
    "ManifestFields",
    "NullProgress",
    "OperatorKeyError",
    "ProgressBar",
    "ProgressFactory",
    "ProvisioningError",
    "TileSource",
    "coverage_fraction",
    "generate_operator_key",
    "null_progress",
    "operator_key",
    "operator_public_key",
    "public_key_path",
]
