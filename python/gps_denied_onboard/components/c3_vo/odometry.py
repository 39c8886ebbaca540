"""Frame-to-frame visual odometry on orthorectified frames.

Both frames are projected onto the ground at the same scale with the autopilot's
attitude and altitude (C7's orthorectification), so the camera's ground
displacement is one correlation away and metric by construction: a ground point
seen at offset p_prev from the previous nadir point and p_cur from the current one
gives C_cur - C_prev = p_prev - p_cur.
"""

from __future__ import annotations

import numpy as np

from gps_denied_onboard.components.c3_vo.interface import VoConfig, VoMeasurement
from gps_denied_onboard.components.c7_geo_registration import Ortho, correlate


class OrthoOdometry:
    """Keeps the previous ortho; `step` returns the displacement to the new one, or None
    with `last_reason` saying why (first frame, scale change, no texture, ambiguous)."""

    def __init__(self, config: VoConfig | None = None) -> None:
        self.config = config or VoConfig()
        self._prev: tuple[int, Ortho, np.ndarray] | None = None
        self.last_reason = ""

    def reset(self) -> None:
        self._prev = None

    def step(self, t_ns: int, ortho: Ortho, field: np.ndarray) -> VoMeasurement | None:
        prev, self._prev = self._prev, (t_ns, ortho, field)
        if prev is None:
            self.last_reason = "no_previous_frame"
            return None
        t0, o0, f0 = prev
        cfg = self.config
        if t_ns <= t0 or (t_ns - t0) * 1e-9 > cfg.max_gap_s:
            self.last_reason = "gap"
            return None
        if abs(o0.gsd_m - ortho.gsd_m) > 1e-6 * ortho.gsd_m:
            self.last_reason = "scale_change"
            return None
        th, tw = field.shape[:2]
        ch, cw = int(th * cfg.template_fraction), int(tw * cfg.template_fraction)
        y0, x0 = (th - ch) // 2, (tw - cw) // 2
        tmpl = field[y0:y0 + ch, x0:x0 + cw]
        if min(f0.shape[0] - ch, f0.shape[1] - cw) < 2:
            self.last_reason = "frame_too_small"
            return None
        peak, _ = correlate(f0, tmpl)
        if peak.score < cfg.min_score or peak.distinctiveness < cfg.min_distinctiveness:
            self.last_reason = "ambiguous"
            return None
        pe, pn = o0.pixel_to_rel_en(peak.dx, peak.dy)
        ce, cn = ortho.pixel_to_rel_en(float(x0), float(y0))
        d_e, d_n = float(pe - ce), float(pn - cn)
        s = max(peak.sigma_px, 0.3) * ortho.gsd_m * 1.5
        tilt = cfg.attitude_rate_sigma_rad * ortho.height_m
        var = s * s + tilt * tilt
        self.last_reason = ""
        return VoMeasurement(t0, t_ns, d_n, d_e, np.eye(2) * var, peak.score, peak.distinctiveness)

