"""The airborne localization pipeline: frames + attitude/altitude telemetry (+ optional
prior / GNSS) in, fused position/velocity/covariance/health out at any requested time.

Wiring (the composition root builds the concrete pieces here):
  frame -> C7 orthorectify (telemetry attitude + height) -> C3 VO against the last frame
        -> C7 register around the C5 prediction (or C6 candidates when lost)
        -> C9 quality gates -> C5 Mahalanobis gate + fusion (delayed-measurement aware)
Everything is stamped with capture time on the flight's monotonic clock. Bad input
never raises out of `on_frame` / `on_attitude` / `on_altitude`: it is counted,
logged, reported as a degradation, and the covariance grows.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from gps_denied_onboard._types import CameraModel, LatLonAlt, MapSource, ned_from_camera
from gps_denied_onboard.clock import Clock
from gps_denied_onboard.components.c3_vo import OrthoOdometry, VoConfig
from gps_denied_onboard.components.c5_state import (
    FilterConfig,
    FilterEstimate,
    HorizontalEkf,
    MeasurementError,
    SharedErrorConfig,
    SharedGroundError,
    major_axis_sigma,
)
from gps_denied_onboard.components.c6_place_recognition import TileIndex, default_descriptor_extractor
from gps_denied_onboard.components.c7_geo_registration import (
    GeoRegistrar,
    GeoRegistrationError,
    Ortho,
    RegistrationConfig,
    RegistrationResult,
    ground_footprint,
    texture_score,
)
from gps_denied_onboard.components.c9_integrity import (
    Degradation,
    HealthMonitor,
    IntegrityConfig,
    consistent,
    gate_registration,
    gnss_disagrees,
)
from gps_denied_onboard.config.sections.localization import LocalizationConfig
from gps_denied_onboard.logging import get_logger
from gps_denied_onboard.runtime_root.airborne_first_fix import FirstFixViews, footprint_side_m
from gps_denied_onboard.runtime_root.airborne_outputs import FrameReport, FusedOutput, RecordSink
from gps_denied_onboard.runtime_root.airborne_reloc import reloc_registrars, whole_area_window
from gps_denied_onboard.runtime_root.airborne_telemetry import TelemetryBuffer

F64 = npt.NDArray[np.float64]
F32 = npt.NDArray[np.float32]
_log = get_logger("localization")
_EXHAUSTIVE_MAX_PX = 1_500_000  # maps up to this many coarse pixels are searched exhaustively


class LocalizationPipeline:
    """Feed frames and telemetry (capture timestamps, ns, one monotonic clock);
    read `output(t_ns)` at any rate. Single-threaded: one owner calls it."""

    def __init__(self, config: LocalizationConfig, map_source: MapSource, camera: CameraModel, clock: Clock, *,
                 ground_alt_msl_m: float = 0.0, record_sink: RecordSink | None = None,
                 ortho_factory: Callable[..., Any] | None = None) -> None:
        self.config = config
        self.map = map_source
        self.camera = camera
        self.clock = clock
        self.ground_alt_msl_m = float(ground_alt_msl_m)
        self._sink = record_sink
        att_sigma = math.radians(config.attitude_sigma_deg)
        self.registrar = GeoRegistrar(map_source, camera, RegistrationConfig(
            max_ortho_side_px=config.max_ortho_side_px, max_search_radius_px=config.max_search_radius_px,
            attitude_sigma_rad=att_sigma, yaw_sigma_rad=math.radians(config.yaw_sigma_deg),
            height_sigma_frac=config.altitude_sigma_frac, covariance_inflation=config.covariance_inflation,
            pose_solve=config.pose_solve))
        self._reloc_registrar, self._refine_registrar = reloc_registrars(self.registrar.config, map_source, camera,
                                                                         _EXHAUSTIVE_MAX_PX)
        self.integrity = IntegrityConfig(
            min_distinctiveness=config.min_distinctiveness,
            relocalization_min_distinctiveness=config.relocalization_min_distinctiveness,
            relocalization_confirmations=config.relocalization_confirmations,
            stale_telemetry_s=config.stale_telemetry_s, camera_stall_s=config.camera_stall_s)
        self.ekf = HorizontalEkf(FilterConfig(accel_noise_mps2=config.accel_noise_mps2,
                                            correlated_fraction=config.fix_correlated_fraction))
        # what the fixes of one ground share goes into the reported covariance only
        self._shared = SharedGroundError(SharedErrorConfig(correlated_fraction=config.fix_correlated_fraction)) \
            if config.report_shared_ground_error else None
        self._footprint_side_m = math.nan  # of the frame being processed
        self.vo = OrthoOdometry(VoConfig(attitude_rate_sigma_rad=att_sigma / 4))
        self.health = HealthMonitor(self.integrity)
        self._att = TelemetryBuffer()
        self._alt = TelemetryBuffer()
        self._prior: tuple[int, float, float, float] | None = None  # t, north, east, sigma
        self._index: TileIndex | None = None
        self._pending: list[tuple[int, F64, F64]] = []  # unconfirmed relocalisations (t, ne, cov)
        self._first_fix = FirstFixViews(config)  # multi-frame first-fix consensus (no-op unless enabled)
        self._vo_since_fix = False  # VO has moved the estimate since the last accepted fix
        self._reloc_small = False  # the last relocalisation searched no more than a tracking window
        self._confirmed = False  # the filter holds a confirmed fix (vs. only a prior / nothing)
        self._last_source = "none"
        self._last_update_ns: int | None = None
        self._last_frame_ns: int | None = None
        self.counters = {"frames": 0, "bad_frames": 0, "no_telemetry": 0, "fixes_accepted": 0, "fixes_refused": 0,
                         "vo_updates": 0, "relocalizations": 0}

    # ---- inputs -----------------------------------------------------------------------------
    def on_attitude(self, t_ns: int, roll_rad: float, pitch_rad: float, yaw_rad: float) -> None:
        """Autopilot attitude (MAVLink ATTITUDE convention) at capture time `t_ns`."""
        if not all(math.isfinite(v) for v in (roll_rad, pitch_rad, yaw_rad)):
            _log.warning("non-finite attitude dropped", kind="bad_telemetry", frame=t_ns, field="attitude",
                         value=(roll_rad, pitch_rad, yaw_rad))
            return
        self._att.add(int(t_ns), (roll_rad, pitch_rad, yaw_rad))
        self.health.telemetry_seen(int(t_ns))

    def on_altitude(self, t_ns: int, alt_agl_m: float, alt_msl_m: float) -> None:
        """Height above ground and MSL altitude at `t_ns` (either may be NaN if unknown)."""
        agl = alt_agl_m if math.isfinite(alt_agl_m) else alt_msl_m - self.ground_alt_msl_m
        msl = alt_msl_m if math.isfinite(alt_msl_m) else alt_agl_m + self.ground_alt_msl_m
        if not (math.isfinite(agl) and math.isfinite(msl)) or agl <= 0.5:
            _log.warning("unusable altitude dropped", kind="bad_telemetry", frame=t_ns, field="altitude",
                         value=(alt_agl_m, alt_msl_m))
            return
        self._alt.add(int(t_ns), (agl, msl))

    def on_prior(self, t_ns: int, lat_deg: float, lon_deg: float, sigma_m: float) -> None:
        """An external position prior (e.g. last GNSS before denial, operator input)."""
        try:
            enu = self.map.frame.to_enu(LatLonAlt(lat_deg, lon_deg, 0.0))
        except ValueError:
            _log.warning("invalid prior dropped", kind="bad_prior", frame=t_ns, value=(lat_deg, lon_deg, sigma_m))
            return
        if not (math.isfinite(sigma_m) and sigma_m > 0):
            return
        self._prior = (int(t_ns), float(enu[1]), float(enu[0]), float(sigma_m))
        if not self.ekf.initialized:
            # the prior seeds the filter (VO then carries it); fixes still need confirmation
            self.ekf.reset(int(t_ns), float(enu[1]), float(enu[0]), np.eye(2) * float(sigma_m) ** 2)
            self._confirmed = False

    def on_gnss(self, t_ns: int, lat_deg: float, lon_deg: float, sigma_m: float) -> bool:
        """A GNSS position with its claimed accuracy: only compared (spoofing/jamming flag),
        never fused. Returns True when it disagrees with vision."""
        est = self.ekf.estimate(int(t_ns))
        if est is None or not (math.isfinite(lat_deg) and math.isfinite(lon_deg) and math.isfinite(sigma_m)):
            return False
        enu = self.map.frame.to_enu(LatLonAlt(lat_deg, lon_deg, 0.0))
        flag = gnss_disagrees(self.integrity, (est.north_m, est.east_m), est.cov_ne, (enu[1], enu[0]), sigma_m)
        if flag and not self.health.gnss_disagreement:
            _log.warning("GNSS disagrees with vision beyond its claimed accuracy", kind="gnss_disagreement",
                         frame=t_ns, gnss_sigma_m=sigma_m)
            self._record("c9.gnss_disagreement", {"t_ns": int(t_ns), "lat": lat_deg, "lon": lon_deg, "sigma_m": sigma_m})
        self.health.gnss_disagreement = flag
        return flag

    # ---- frames -----------------------------------------------------------------------------
    def on_frame(self, t_ns: int, image: npt.NDArray[np.uint8] | None) -> FrameReport:
        """Process one frame captured at `t_ns`; `None` marks a frame that was lost or corrupt."""
        t_ns = int(t_ns)
        self.counters["frames"] += 1
        if self._last_frame_ns is not None and t_ns <= self._last_frame_ns:
            self.counters["bad_frames"] += 1
            return self._refuse(t_ns, "non_monotonic_timestamp", {Degradation.BAD_FRAME}, attempted=False)
        self._last_frame_ns = t_ns
        if image is None or image.dtype != np.uint8 or image.ndim not in (2, 3) or \
                image.shape[:2] != (self.camera.height, self.camera.width):
            self.counters["bad_frames"] += 1
            return self._refuse(t_ns, "bad_frame", {Degradation.BAD_FRAME}, attempted=False)
        att = self._att.at(t_ns, self.config.stale_telemetry_s, angle_idx=(0, 1, 2))
        alt = self._alt.at(t_ns, self.config.stale_telemetry_s)
        if att is None or alt is None:
            self.counters["no_telemetry"] += 1
            self.vo.reset()
            return self._refuse(t_ns, "stale_telemetry", {Degradation.STALE_TELEMETRY}, attempted=False)
        # a vehicle tilted by theta can accelerate horizontally at up to g*tan(theta) (a banked
        # turn, a multirotor pitching into a dash): the constant-velocity model must allow it
        tilt = math.acos(max(-1.0, min(1.0, math.cos(att[0]) * math.cos(att[1]))))
        self.ekf.set_manoeuvre_accel(9.81 * math.tan(min(tilt, math.radians(60.0))))
        R = ned_from_camera(att[0], att[1], att[2], self.camera.body_from_camera)
        try:
            ortho, field = self.registrar.make_ortho(image, R, alt[0], t_ns)
        except GeoRegistrationError as exc:
            _log.warning("frame cannot be orthorectified", kind="ortho_failed", frame=t_ns, error=str(exc))
            return self._refuse(t_ns, "ortho_failed", {Degradation.BAD_FRAME}, attempted=False)
        self._footprint_side_m = footprint_side_m(ortho)
        flags: set[Degradation] = set()
        self._visual_odometry(t_ns, ortho, field)
        if texture_score(ortho.image, ortho.valid) < self.integrity.min_texture:
            return self._refuse(t_ns, "no_texture", {Degradation.NO_TEXTURE}, attempted=True)
        off = self._camera_offset_ne(R)
        est = self.ekf.estimate(t_ns)
        sigma = est.position_sigma_m if est is not None else math.inf
        track_sigma_limit = (self.config.max_search_radius_px - 2) * ortho.gsd_m / 3.0
        if est is not None and sigma <= track_sigma_limit:
            peaks = self._first_fix.candidates(self._confirmed)
            res = self.registrar.register(ortho, field, t_ns, est.east_m + off[1], est.north_m + off[0], max(sigma, ortho.gsd_m),
                                          candidates=peaks)
            if self._confirmed:
                return self._fuse_tracking(t_ns, res, flags)
            # too ambiguous alone, good enough to track: does it agree with a frame that saw
            # other ground? (C9 consensus; uniqueness across both frames' peaks)
            if peaks and self._gate(res, reloc=True) and not self._gate(res, reloc=False) \
                    and self._first_fix.agrees(t_ns, res, ortho):
                return self._candidate(t_ns, res, flags, reloc=True, confirmations=1, located=True)
            # carried only by a prior (or by VO after being lost): the first fix must pass
            # the relocalisation gates and agree with the estimate; the search window is
            # as tight as when tracking, so one fix is enough (whole-map searches need more)
            return self._candidate(t_ns, res, flags, reloc=True, confirmations=1)
        self._confirmed = False
        rep = self._relocalize(t_ns, image, R, alt[0], ortho, field, flags, around=est)
        if rep.accepted or rep.reason not in ("ambiguous_place", "no_candidate") or not self._reloc_small:
            return rep
        # Heading references can be wrong by half a turn (a gimbal yaw that wraps, a reversed
        # mount): the reversed-heading hypothesis gets the same search and the same gates.
        # Only where the search is as small as a tracking window (cheap, and two hypotheses
        # there still hold fewer positions than one whole-map search).
        R_flip = np.diag([-1.0, -1.0, 1.0]) @ R
        try:
            ortho_f, field_f = self.registrar.make_ortho(image, R_flip, alt[0], t_ns)
        except GeoRegistrationError:
            return rep
        self.counters["fixes_refused"] -= 1  # one frame, one attempt
        return self._relocalize(t_ns, image, R_flip, alt[0], ortho_f, field_f, flags, around=est)

    # ---- internals --------------------------------------------------------------------------
    def _camera_offset_ne(self, R_ned_cam: F64) -> F64:
        """(north, east) of the camera centre relative to the body origin."""
        R_ned_body = R_ned_cam @ self.camera.body_from_camera.T
        return np.asarray((R_ned_body @ self.camera.camera_offset_body_m)[:2], np.float64)

    def _visual_odometry(self, t_ns: int, ortho: Ortho, field: F32) -> None:
        m = self.vo.step(t_ns, ortho, field)
        self._first_fix.carry(t_ns, m, self.ekf)
        if m is None or not self.ekf.initialized:
            return
        vn, ve = m.velocity
        try:
            out = self.ekf.update_velocity(t_ns, vn, ve, m.cov_velocity)
        except MeasurementError as exc:
            _log.warning("VO measurement refused", kind="vo_refused", frame=t_ns, error=str(exc))
            return
        if out.accepted:
            self._vo_since_fix = True
            self.counters["vo_updates"] += 1
            self._last_source, self._last_update_ns = "vo", t_ns
        for p in range(len(self._pending)):  # carry unconfirmed relocalisations along the VO track
            pt, ne, cov = self._pending[p]
            self._pending[p] = (pt, ne + np.array([m.d_north_m, m.d_east_m]), cov + m.cov_d)

    def _prior_at(self, t_ns: int) -> tuple[float, float, float] | None:
        if self._prior is None:
            return None
        pt, n, e, s = self._prior
        grow = self.config.max_speed_mps * abs(t_ns - pt) * 1e-9
        return n, e, math.hypot(s, grow)

    def _gate(self, res: RegistrationResult, reloc: bool) -> str:
        d = gate_registration(self.integrity, ok=res.ok, reason=res.reason, texture=res.texture, score=res.score,
                              distinctiveness=res.distinctiveness, n_blocks=res.n_blocks, n_inliers=res.n_inliers,
                              rms_residual_px=res.rms_residual_px, chi2_dof=res.chi2_dof, relocalization=reloc)
        return "" if d.accepted else d.reason

    def _fuse_tracking(self, t_ns: int, res: RegistrationResult, flags: set[Degradation]) -> FrameReport:
        why = self._gate(res, reloc=False)
        if res.reason == "map_not_covering":
            flags.add(Degradation.MAP_EDGE)
        if why:
            return self._refuse(t_ns, why, flags, attempted=True, res=res)
        try:
            out = self.ekf.update_position(t_ns, res.north_m, res.east_m, res.cov_ne)
        except MeasurementError as exc:
            return self._refuse(t_ns, f"filter_refused:{exc.field}", flags, attempted=True, res=res)
        if not out.accepted:
            return self._refuse(t_ns, out.reason, flags, attempted=True, res=res)
        return self._accept(t_ns, res, flags, "track")

    def _candidate(self, t_ns: int, res: RegistrationResult, flags: set[Degradation], reloc: bool,
                   confirmations: int | None = None, located: bool = False) -> FrameReport:
        """A fix with no running filter: (re)initialise only after agreeing confirmations.
        `located`: a distinct coarse search already found the place, so the fine peak (in a
        window of a few coarse pixels, where its rivals are its own shoulders) only needs the
        tracking distinctiveness."""
        why = self._gate(res, reloc=reloc and not located)
        if why:
            return self._refuse(t_ns, why, flags, attempted=True, res=res, mode="reloc")
        ne = np.array([res.north_m, res.east_m])
        max_gap = 2.0
        kept = []
        for pt, pne, pcov in self._pending:
            dt = (t_ns - pt) * 1e-9
            if dt > max_gap:
                continue
            kept.append((pt, pne, pcov))
        agree = [p for p in kept if consistent(ne, res.cov_ne, p[1], p[2])]
        self._pending = [p for p in kept if p in agree] + [(t_ns, ne, res.cov_ne.copy())]
        need = self.integrity.relocalization_confirmations if confirmations is None else confirmations
        if len(agree) + 1 < need:
            return self._refuse(t_ns, "awaiting_confirmation", flags, attempted=True, res=res, mode="reloc")
        est = self.ekf.estimate(t_ns)
        if est is not None and not consistent(ne, res.cov_ne, (est.north_m, est.east_m), est.cov_ne):
            self._pending = []
            return self._refuse(t_ns, "inconsistent_with_prior", flags, attempted=True, res=res, mode="reloc")
        self._pending = []
        self._confirmed = True
        # Carried since the last fix by the motion model alone (frames seconds apart, no VO),
        # the estimate's error is what its covariance says: fuse, so the velocity that the
        # successive fixes imply is learnt. A VO-carried estimate's drift is not modelled
        # that way (it would be read as velocity): reset.
        if est is not None and self.health.last_fix_ns is not None and not self._vo_since_fix:
            try:
                if self.ekf.update_position(t_ns, res.north_m, res.east_m, res.cov_ne).accepted:
                    self.counters["relocalizations"] += 1
                    return self._accept(t_ns, res, flags, "reloc")
            except MeasurementError:
                pass
        vel = (est.vn_mps, est.ve_mps, float(np.sqrt(max(est.covariance[2, 2], est.covariance[3, 3])))) if est else (0.0, 0.0, None)
        self.ekf.reset(t_ns, res.north_m, res.east_m, res.cov_ne, vel[0], vel[1], vel[2])
        self.counters["relocalizations"] += 1
        _log.info("filter (re)initialised from a confirmed fix", kind="relocalized", frame=t_ns,
                  sigma_m=math.sqrt(float(np.trace(res.cov_ne))))
        return self._accept(t_ns, res, flags, "reloc")

    def _relocalize(self, t_ns: int, image: npt.NDArray[np.uint8], R: F64, height: float, ortho: Ortho,
                    field: F32, flags: set[Degradation], around: FilterEstimate | None = None) -> FrameReport:
        """No usable prior: search the whole map at a coarse scale when it is small enough
        (exact), else verify C6's retrieved candidates; then a fine C7 registration."""
        self._reloc_small = False
        coarse, cfield = self._reloc_registrar.make_ortho(image, R, height, t_ns)
        off = self._camera_offset_ne(R)
        e0, n0, e1, n1 = self.map.bounds_en_m
        if around is not None:  # a prior or a drifted estimate bounds the search (3 sigma)
            r3 = 3.0 * around.position_sigma_m
            ce, cn = around.east_m + off[1], around.north_m + off[0]
            e0, n0, e1, n1 = max(e0, ce - r3), max(n0, cn - r3), min(e1, ce + r3), min(n1, cn + r3)
            if e1 <= e0 or n1 <= n0:
                flags.add(Degradation.MAP_EDGE)
                return self._refuse(t_ns, "map_not_covering", flags, attempted=True, mode="reloc")
        g = coarse.gsd_m
        windows: list[tuple[float, float, float]] = []  # prior camera (east, north) and sigma
        n_positions = (e1 - e0) * (n1 - n0) / (g * g)
        if n_positions <= _EXHAUSTIVE_MAX_PX:
            windows.append(whole_area_window(coarse, cfield.shape, (e0, n0, e1, n1)))
            sep = 0.0
        else:
            if self._index is None:
                fp = ground_footprint(self.camera, R, height)
                side = float(max(np.ptp(fp[:, 0]), np.ptp(fp[:, 1])))
                try:
                    self._index = TileIndex(self.map, default_descriptor_extractor(), side)
                except Exception as exc:  # noqa: BLE001 - PlaceRecognitionError or a map read failure: report, keep going
                    _log.warning("map index unavailable", kind="reloc_index_failed", frame=t_ns, error=str(exc))
                    return self._refuse(t_ns, "no_map_index", flags, attempted=True, mode="reloc")
            sep = self._index.tile_m / 2.0
            cands = self._index.query(coarse.image, k=self.config.relocalization_candidates * 4)
            windows = [(c.east_m + off[1], c.north_m + off[0], self._index.tile_m / 3.0) for c in cands
                       if e0 <= c.east_m <= e1 and n0 <= c.north_m <= n1][: self.config.relocalization_candidates]
        self._reloc_small = around is not None and sep == 0.0 and \
            n_positions <= (2 * self.config.max_search_radius_px) ** 2
        found: list[RegistrationResult] = []
        for we, wn, ws in windows:
            res = self._reloc_registrar.register(coarse, cfield, t_ns, we, wn, ws, whole_map=around is None and sep == 0.0)
            if res.ok:
                found.append(res)
        if not found:
            return self._refuse(t_ns, "no_candidate", flags, attempted=True, mode="reloc")
        found.sort(key=lambda r: -r.score)
        best = found[0]
        # the same place found through overlapping windows is not a rival
        rivals = [r.score for r in found[1:] if math.hypot(r.east_m - best.east_m, r.north_m - best.north_m) > max(sep, 4 * g)]
        if rivals and best.score < self.integrity.relocalization_min_ratio * max(rivals):
            return self._refuse(t_ns, "ambiguous_place", flags, attempted=True, res=best, mode="reloc")
        if best.distinctiveness < self.integrity.relocalization_min_distinctiveness:
            return self._refuse(t_ns, "ambiguous_place", flags, attempted=True, res=best, mode="reloc")
        sigma = max(2.0 * g, math.sqrt(float(np.trace(best.cov_ne)) / 2.0))
        sigma = min(sigma, (self.config.max_search_radius_px - 2) * ortho.gsd_m / 3.0)
        fine = self._refine_registrar.register(ortho, field, t_ns, best.east_m + off[1], best.north_m + off[0], sigma)
        # An exhaustive search around an estimate that tried no more positions than one
        # tracking window holds carries a tracking window's false-alarm risk: one fix is
        # enough. (A map barely larger than the footprint, or frames seconds apart with no
        # VO between them, could otherwise never be confirmed: pending fixes expire.)
        return self._candidate(t_ns, fine, flags, reloc=True, confirmations=1 if self._reloc_small else None,
                               located=True)

    def _accept(self, t_ns: int, res: RegistrationResult, flags: set[Degradation], mode: str) -> FrameReport:
        self.counters["fixes_accepted"] += 1
        self._first_fix.clear()
        self._vo_since_fix = False
        self.health.fix_accepted(t_ns)
        self.health.frame_seen(t_ns, flags)
        self._last_source, self._last_update_ns = "fix", t_ns
        lat, lon = self._latlon(res.north_m, res.east_m)
        c = res.cov_ne
        if self._shared is not None:
            try:
                self._shared.add_fix(t_ns, res.north_m, res.east_m, c, self._footprint_side_m)
            except MeasurementError as exc:  # the fix itself was fused: only the floor misses it
                _log.warning("fix not pooled for the shared-error floor", kind="shared_error_skipped", frame=t_ns,
                             error=str(exc))
        self._record("c7.fix", {"t_ns": t_ns, "lat": lat, "lon": lon, "cov": [c[0, 0], c[0, 1], c[1, 1]],
                                "accepted": True, "mode": mode, "score": res.score,
                                "distinctiveness": res.distinctiveness, "inliers": res.n_inliers})
        return FrameReport(t_ns, True, True, "", lat, lon, float(c[0, 0]), float(c[0, 1]), float(c[1, 1]), mode)

    def _refuse(self, t_ns: int, reason: str, flags: set[Degradation], *, attempted: bool,
                res: RegistrationResult | None = None, mode: str = "track") -> FrameReport:
        if attempted:
            self.counters["fixes_refused"] += 1
        self.health.frame_seen(t_ns, flags)
        if res is not None and res.ok:
            lat, lon = self._latlon(res.north_m, res.east_m)
            c = res.cov_ne
            rep = FrameReport(t_ns, attempted, False, reason, lat, lon, float(c[0, 0]), float(c[0, 1]), float(c[1, 1]), mode)
        else:
            rep = FrameReport(t_ns, attempted, False, reason, mode=mode)
        self._record("c7.fix", {"t_ns": t_ns, "accepted": False, "reason": reason, "mode": mode})
        return rep

    def _record(self, kind: str, payload: dict[str, Any]) -> None:
        if self._sink is not None:
            self._sink.enqueue(kind, payload)

    def _latlon(self, north: float, east: float) -> tuple[float, float]:
        p = self.map.frame.to_geodetic((east, north, 0.0))
        return p.lat_deg, p.lon_deg

    # ---- output -----------------------------------------------------------------------------
    def output(self, t_ns: int) -> FusedOutput:
        """The fused solution predicted to `t_ns` (typically now, or a tick on the flight clock)."""
        t_ns = int(t_ns)
        est = self.ekf.estimate(max(t_ns, self.ekf.time_ns)) if self.ekf.initialized else None
        alt = self._alt.at(t_ns, 5.0)
        alt_msl = alt[1] if alt is not None else (self._alt.latest()[1][1] if self._alt.latest() else self.ground_alt_msl_m)  # type: ignore[index]
        vd = self._vertical_speed(t_ns)
        if est is None:
            return self._uninitialised_output(t_ns, alt_msl, vd)
        localized = self.health.last_fix_ns is not None
        c = est.cov_ne if self._shared is None else self._shared.reported(est.cov_ne)
        # Until the first confirmed fix the filter only carries an external prior: the
        # position is given with its (prior) covariance but it is not a vision solution.
        rep = self.health.report(t_ns, localized, major_axis_sigma(c))
        if not localized:
            source = "none"
        elif self._last_update_ns is None or (t_ns - self._last_update_ns) * 1e-9 > 1.0:
            source = "predict"
        else:
            source = self._last_source
        lat, lon = self._latlon(est.north_m, est.east_m)
        cv = est.covariance
        return FusedOutput(t_ns, lat, lon, alt_msl, est.vn_mps, est.ve_mps, vd, float(c[0, 0]), float(c[0, 1]),
                           float(c[1, 1]), source, rep.health.value, tuple(sorted(d.value for d in rep.degradations)),
                           float(cv[2, 2]), float(cv[2, 3]), float(cv[3, 3]))

    def _uninitialised_output(self, t_ns: int, alt_msl: float, vd: float) -> FusedOutput:
        """Before the first fix: the prior (or the map centre) with an honest, huge covariance."""
        prior = self._prior_at(t_ns)
        if prior is not None:
            n, e, s = prior
        else:
            e0, n0, e1, n1 = self.map.bounds_en_m
            n, e, s = 0.5 * (n0 + n1), 0.5 * (e0 + e1), math.hypot(e1 - e0, n1 - n0)
        lat, lon = self._latlon(n, e)
        rep = self.health.report(t_ns, False, math.inf)
        return FusedOutput(t_ns, lat, lon, alt_msl, 0.0, 0.0, vd, s * s, 0.0, s * s, "none", rep.health.value,
                           tuple(sorted(d.value for d in rep.degradations)))

    def _vertical_speed(self, t_ns: int) -> float:
        """Down velocity from a least-squares line through the last 2 s of MSL altitude
        (a two-point difference of a noisy altimeter is useless)."""
        samples = self._alt.window(t_ns - 2_000_000_000, t_ns)
        if len(samples) < 3:
            return 0.0
        t = np.array([s[0] for s in samples], np.float64) * 1e-9
        a = np.array([s[1][1] for s in samples], np.float64)
        t -= t.mean()
        denom = float(t @ t)
        return 0.0 if denom <= 0 else -float(t @ (a - a.mean())) / denom


def build_localization_pipeline(config: LocalizationConfig, map_source: MapSource, camera: CameraModel, clock: Clock,
                                *, ground_alt_msl_m: float = 0.0, record_sink: RecordSink | None = None) -> LocalizationPipeline:
    """The composition root's one way to make the pipeline (live runtime, replay, demo).
    OpenCV's one-time set-up is paid here, before the first frame (`GeoRegistrar.warm_up`)."""
    pipeline = LocalizationPipeline(config, map_source, camera, clock, ground_alt_msl_m=ground_alt_msl_m,
                                    record_sink=record_sink)
    spent = pipeline.registrar.warm_up()
    _log.info("registration kernels warmed up", kind="warm_up", ms=round(spent * 1e3, 1))
    return pipeline
