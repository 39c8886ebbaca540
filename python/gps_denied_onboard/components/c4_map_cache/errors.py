"""Errors of c4_map_cache: every error this component raises derives from `MapCacheError`."""


class MapCacheError(Exception):
    """Base class of c4_map_cache errors."""
