"""Errors of c11_tile_manager: every error this component raises derives from `TileManagerError`."""


class TileManagerError(Exception):
    """Base class of c11_tile_manager errors."""
