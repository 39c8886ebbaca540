"""C4 map cache: read-only access to a provisioned, signed cache; verifies the manifest at load and each tile's hash on read.

    cache = open_cache("cache/", trusted_keys=[pub_pem_path], state_path=state_file)
    source = cache.map_source()          # a gps_denied_onboard._types.MapSource
    index = cache.descriptors()          # DescriptorIndex or None
"""

from gps_denied_onboard.components.c4_map_cache.cache import VerifiedCache, decode_tile
from gps_denied_onboard.components.c4_map_cache.calibration import parse_camera_yaml
from gps_denied_onboard.components.c4_map_cache.errors import (
    BadSignatureError,
    CacheIntegrityError,
    CacheLayoutError,
    CalibrationError,
    ExpiredManifestError,
    FlightMismatchError,
    HashMismatchError,
    LengthMismatchError,
    ManifestFormatError,
    MapCacheError,
    MixAndMatchError,
    OversizedFileError,
    RollbackError,
    TileIntegrityError,
    TileLocatorError,
    TileNotInCacheError,
    UntrustedKeyError,
)
from gps_denied_onboard.components.c4_map_cache.interface import DescriptorIndex
from gps_denied_onboard.components.c4_map_cache.layout import (
    CACHE_FORMAT,
    CALIBRATION_NAME,
    DESCRIPTORS_INDEX_NAME,
    DESCRIPTORS_MATRIX_NAME,
    ENGINES_DIR,
    MANIFEST_NAME,
    SIGNATURE_NAME,
    TILES_HASH_SCAN,
    TILES_INSERT,
    TILES_NAME,
    TILES_PAGE_SIZE,
    TILES_SCHEMA,
    bbox_area_km2,
    canonical_json,
    descriptor_id,
    merkle_root,
    merkle_root_zxy,
    public_key_id,
    tile_of_descriptor_id,
)
from gps_denied_onboard.components.c4_map_cache.manifest import EngineEntry, FileEntry, Manifest, parse_manifest
from gps_denied_onboard.components.c4_map_cache.map_source import CacheMapSource
from gps_denied_onboard.components.c4_map_cache.verify import (
    DEFAULT_TILE_MMAP_BYTES,
    VerifyOptions,
    load_public_key,
    open_cache,
)
from gps_denied_onboard.components.c4_map_cache.versions import AcceptedVersionStore

__all__ = [
    "CACHE_FORMAT",
    "CALIBRATION_NAME",
    "DESCRIPTORS_INDEX_NAME",
    "DESCRIPTORS_MATRIX_NAME",
    "ENGINES_DIR",
    "MANIFEST_NAME",
    "SIGNATURE_NAME",
    "TILES_HASH_SCAN",
    "TILES_INSERT",
    "TILES_NAME",
    "TILES_PAGE_SIZE",
    "TILES_SCHEMA",
    "AcceptedVersionStore",
    "BadSignatureError",
    "CacheIntegrityError",
    "CacheLayoutError",
    "CacheMapSource",
    "CalibrationError",
    "DescriptorIndex",
    "EngineEntry",
    "ExpiredManifestError",
    "FileEntry",
    "FlightMismatchError",
    "HashMismatchError",
    "LengthMismatchError",
    "Manifest",
    "ManifestFormatError",
    "MapCacheError",
    "MixAndMatchError",
    "OversizedFileError",
    "RollbackError",
    "TileIntegrityError",
    "TileLocatorError",
    "TileNotInCacheError",
    "UntrustedKeyError",
    "VerifiedCache",
    "DEFAULT_TILE_MMAP_BYTES",
    "VerifyOptions",
    "bbox_area_km2",
    "canonical_json",
    "decode_tile",
    "descriptor_id",
    "load_public_key",
    "merkle_root",
    "merkle_root_zxy",
    "open_cache",
    "parse_camera_yaml",
    "parse_manifest",
    "public_key_id",
    "tile_of_descriptor_id",
]
