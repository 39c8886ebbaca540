"""Tile sources for provisioning (operator only): georeferenced rasters in any CRS and
XYZ/TMS servers over HTTP."""

from gps_denied_onboard.components.c11_tile_manager.download.errors import (
    DownloadIncompleteError,
    RasterSourceError,
    TileConnectionError,
    TileDecodeError,
    TileFetchError,
    TileHttpError,
    TileNotFoundError,
    TileServerError,
    TileSourceError,
    TileTimeoutError,
)
from gps_denied_onboard.components.c11_tile_manager.download.interface import (
    TILE_SIZE,
    FetchedTile,
    Progress,
    TileSource,
    decode_validity,
    validity_grid,
)
from gps_denied_onboard.components.c11_tile_manager.download.raster import RasterTileSource
from gps_denied_onboard.components.c11_tile_manager.download.xyz import XyzTileSource

__all__ = [
    "TILE_SIZE",
    "DownloadIncompleteError",
    "FetchedTile",
    "Progress",
    "RasterSourceError",
    "RasterTileSource",
    "TileConnectionError",
    "TileDecodeError",
    "TileFetchError",
    "TileHttpError",
    "TileNotFoundError",
    "TileServerError",
    "TileSource",
    "TileSourceError",
    "TileTimeoutError",
    "XyzTileSource",
    "decode_validity",
    "validity_grid",
]
