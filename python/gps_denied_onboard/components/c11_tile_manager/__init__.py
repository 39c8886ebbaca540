"""C11 tile manager (operator only): tile download, post-flight upload of captures, per-flight signing keys, flight-state gate."""

from gps_denied_onboard.components.c11_tile_manager.errors import TileManagerError

__all__ = ["TileManagerError"]
