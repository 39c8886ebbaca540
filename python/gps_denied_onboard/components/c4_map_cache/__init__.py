"""C4 map cache: read-only access to a provisioned, signed cache; verifies the manifest at load and each tile's hash on read."""

from gps_denied_onboard.components.c4_map_cache.errors import MapCacheError

__all__ = ["MapCacheError"]
