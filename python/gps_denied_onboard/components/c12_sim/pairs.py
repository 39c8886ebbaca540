"""Co-registered pairs: a map image (one date) and a flight image (another date)
of the same ground, described by `pair.yaml` (the shared cross-date pairs and
the synthetic worlds use the same description)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from gps_denied_onboard.components.c12_sim.errors import PairError


@dataclass(frozen=True)
class Pair:
    """Where the two images are, and what pair.yaml says about them."""

    root: Path
    pair_id: str
    map_image: Path
    flight_image: Path
    ground_alt_msl_m: float
    alignment_p90_px: float | None
    raw: dict[str, Any]


def load_pair(pair_dir: str | Path, *, default_ground_alt_msl_m: float = 0.0) -> Pair:
    """Read `pair.yaml` in `pair_dir`: `map_image` and `flight_image` are required;
    `ground_alt_msl_m` is optional (the shared pairs do not give one)."""
    root = Path(pair_dir)
    path = root / "pair.yaml"
    if not path.is_file():
        raise PairError("pair.yaml is missing (a pair directory names its map and flight images there)", path=path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise PairError(f"pair.yaml does not parse: {exc}", path=path) from exc
    if not isinstance(data, dict):
        raise PairError("pair.yaml must be a mapping", path=path)
    images = {}
    for key in ("map_image", "flight_image"):
        name = data.get(key)
        if not isinstance(name, str) or not name:
            raise PairError("missing or not a file name", path=path, field=key, value=name)
        if not (root / name).is_file():
            raise PairError(f"{key} {name!r} does not exist next to pair.yaml", path=path, field=key, value=name)
        images[key] = root / name
    ground = data.get("ground_alt_msl_m", default_ground_alt_msl_m)
    if isinstance(ground, bool) or not isinstance(ground, (int, float)):
        raise PairError("expected metres", path=path, field="ground_alt_msl_m", value=ground)
    align = data.get("alignment") or {}
    p90 = align.get("measured_local_p90_px") if isinstance(align, dict) else None
    return Pair(
        root, str(data.get("pair_id", root.name)), images["map_image"], images["flight_image"], float(ground),
        float(p90) if isinstance(p90, (int, float)) else None, data,
    )
