"""Frame-to-map registration: orthorectify with telemetry, correlate orientation fields
over the search window the filter allows, refine blocks, solve the camera pose."""

from __future__ import annotations

import math
import time

import numpy as np
import numpy.typing as npt

from gps_denied_onboard._types import CameraModel, MapSource, euler_zyx_from_ned_body, ned_from_camera
from gps_denied_onboard.components.c7_geo_registration.interface import RegistrationConfig, RegistrationResult
from gps_denied_onboard.components.c7_geo_registration.map_fields import MapField, MapFieldCache, map_spectrum
from gps_denied_onboard.components.c7_geo_registration.matching import (
    Peak,
    correlate,
    local_peaks,
    orientation_field,
    peak_of,
    texture_score,
    to_gray,
)
from gps_denied_onboard.components.c7_geo_registration.ortho import Ortho, orthorectify
from gps_denied_onboard.components.c7_geo_registration.pose import attitude_departure_chi2, ground_hits, solve_pose

F64 = npt.NDArray[np.float64]
F32 = npt.NDArray[np.float32]


class GeoRegistrar:
    """Registers frames to one map. Stateless between calls (the filter owns the state),
    apart from `map_fields`: a cache of the map's own orientation field by scale, cropped
    per search instead of reading the map and deriving the field each time (worth it
    where the same large area is searched again, as relocalisation over the whole map does)."""

    def __init__(self, map_source: MapSource, camera: CameraModel, config: RegistrationConfig | None = None,
                 map_fields: MapFieldCache | None = None) -> None:
        self.map = map_source
        self.camera = camera
        self.config = config or RegistrationConfig()
        self.map_fields = map_fields

    def working_gsd(self, height_m: float) -> float:
        """Registration scale: the map's own, unless the footprint would exceed the template cap."""
        return max(self.map.native_gsd_m, 0.0)

    def make_ortho(self, frame: npt.NDArray[np.uint8], R_ned_cam: F64, height_m: float, frame_ts_ns: int) -> tuple[Ortho, F32]:
        """Orthorectified frame and its orientation field (shared with VO and C6)."""
        ortho = orthorectify(to_gray(frame), self.camera, R_ned_cam, height_m, self.working_gsd(height_m),
                             self.config.max_ortho_side_px, frame_ts_ns)
        return ortho, orientation_field(ortho.image, ortho.valid)

    def warm_up(self, height_m: float = 100.0) -> float:
        """Run the OpenCV kernels a registration uses once, on a synthetic level frame,
        so the flight's first frame (often a relocalisation, the slowest kind) does not
        pay OpenCV's one-time set-up: the first `matchTemplate` of a process costs
        ~36 ms here against ~4 ms after (and the first DFT, spectrum product and
        integral image of the whole-map search ~12 ms more than later ones). Touches no
        map. Returns the seconds it took."""
        t0 = time.perf_counter()
        frame = np.zeros((self.camera.height, self.camera.width), np.uint8)
        frame[::16, :] = 255  # a grid: texture for the gradient kernels
        frame[:, ::16] = 255
        R = ned_from_camera(0.0, 0.0, 0.0, self.camera.body_from_camera)
        _, field = self.make_ortho(frame, R, height_m, 0)
        h, w = field.shape[:2]
        if h >= 8 and w >= 8:
            correlate(field, np.ascontiguousarray(field[h // 4:h // 4 + h // 2, w // 4:w // 4 + w // 2]))
        # and the whole-map search's frequency-domain kernels (process-wide set-up too), on
        # a fixed 64 px square field: large enough against its grid for the spectrum path
        square = np.random.default_rng(0).standard_normal((64, 64, 2)).astype(np.float32)
        mf = MapField(square, np.ones((64, 64), bool), 0.0, 0.0, 1.0, map_spectrum(square, 32))
        mf.correlate(square, np.ascontiguousarray(square[16:48, 16:48]), 0, 0)
        return time.perf_counter() - t0

    def register(
        self,
        ortho: Ortho,
        field: F32,
        frame_ts_ns: int,
        prior_east_m: float,
        prior_north_m: float,
        prior_sigma_m: float,
        *,
        whole_map: bool = False,
        candidates: int = 0,
    ) -> RegistrationResult:
        """Register around a prior camera position (east, north of the camera's nadir point).

        `whole_map`: the window spans the whole map (relocalisation with nothing to bound
        it): searched in the cached map field (`map_fields`) when there is one, instead of
        a patch read. The crop samples the map on the cache's grid, up to half a pixel
        from where a patch read would, so only these searches use it: a bounded search
        gives exactly what it gave before.

        `candidates`: also report up to this many local maxima of the global correlation
        as body positions (`RegistrationResult.peak_candidates`, best first), the places
        the frame could be; used to judge agreement between frames before a first fix."""
        cfg = self.config
        g = ortho.gsd_m
        texture = texture_score(ortho.image, ortho.valid)
        radius = int(math.ceil(3.0 * prior_sigma_m / g)) + 2
        base = dict(frame_ts_ns=frame_ts_ns, texture=texture, gsd_m=g, height_agl_m=ortho.height_m)
        if radius > cfg.max_search_radius_px:
            return RegistrationResult(False, "search_window_too_large", search_radius_px=radius, **base)  # type: ignore[arg-type]
        radius = max(radius, cfg.min_search_radius_px)
        th, tw = field.shape[:2]
        # centre of the ortho in ENU if the camera were at the prior
        cx = prior_east_m + ortho.east_min_rel + tw * g / 2.0
        cy = prior_north_m + ortho.north_max_rel - th * g / 2.0
        window = (cx, cy, tw + 2 * radius, th + 2 * radius)  # centre (east, north), width, height px
        cached = self.map_fields.get(g) if whole_map and self.map_fields is not None else None
        if cached is not None:
            sfield, patch = cached.crop(*window)
        else:
            patch = self.map.read_patch(*window, g)
        # how much of the ground the frame should see (at the prior) the map covers
        coverage = float(patch.valid[radius:radius + th, radius:radius + tw].mean())
        base.update(coverage=coverage, search_radius_px=radius)
        if coverage < cfg.min_coverage:
            return RegistrationResult(False, "map_not_covering", **base)  # type: ignore[arg-type]
        scores: F32 | None = None
        if cached is None:
            sfield = orientation_field(to_gray(patch.image), patch.valid)
            peak, scores = correlate(sfield, field)
        else:
            scores = cached.correlate(sfield, field, *cached.origin(*window))
            if scores is not None:
                peak = peak_of(scores)
            else:
                peak, scores = correlate(sfield, field)
        base.update(score=peak.score, distinctiveness=peak.distinctiveness)
        # ortho pixel (0, 0) lies at patch pixel (dx, dy): camera nadir = that point minus its offset
        e00, n00 = patch.pixel_to_en(peak.dx, peak.dy)
        oe, on = ortho.pixel_to_rel_en(0.0, 0.0)
        cam_e, cam_n = float(e00 - oe), float(n00 - on)
        peaks = self._peak_candidates(ortho, patch, scores, peak, candidates) if candidates > 0 else ()
        rays, ground, sig, n_blocks = self._block_correspondences(ortho, field, sfield, patch, peak.dx, peak.dy)
        base.update(n_blocks=n_blocks)
        h0 = ortho.height_m
        R = ortho.R_ned_cam
        solved = False
        pos_rms_px: float  # residual spread about the position taken (covariance floor)
        if len(rays) >= 4 and cfg.pose_solve:
            sol = solve_pose(rays, ground, sig, cam_e, cam_n, h0, ortho.R_ned_cam,
                             cfg.attitude_sigma_rad, cfg.height_sigma_frac * h0, cfg.yaw_sigma_rad)
            # The blocks pin the rotation only through perspective (a tilt moves edge blocks
            # against centre ones by ~half of what it moves the centre), so a few px of
            # cross-date deformation (changed ground, building lean) reads as degrees of
            # tilt and moves the position by height x tilt. A rotation further from the
            # telemetry than its prior allows is that, not an attitude error the autopilot
            # made: measured on the 48 s LEVIR flight, such solves sit 1-2.4 deg from the
            # true attitude (telemetry: within 0.5 deg tilt) and their fixes 7-8 px off,
            # against ~3 px for the translation-only blocks on the same frames.
            # The gate statistics stay the pose solve's either way: the blocks fitting one
            # rigid pose is what says the match is right; only the position is in doubt.
            n_in = int(sol.inliers.sum())
            rms_px = float(np.sqrt(np.mean(np.sum(sol.residuals_m[sol.inliers] ** 2, axis=1))) / g) if n_in else float("nan")
            base.update(n_inliers=n_in, rms_residual_px=rms_px, chi2_dof=sol.chi2_dof)
            pos_rms_px = rms_px
            if math.isinf(cfg.max_attitude_departure_chi2) or attitude_departure_chi2(
                    sol.R_ned_cam, ortho.R_ned_cam, cfg.attitude_sigma_rad,
                    cfg.yaw_sigma_rad) <= cfg.max_attitude_departure_chi2:
                cov_en = sol.cov_enh[:2, :2] * max(sol.chi2_dof, 1.0)
                cam_e, cam_n, R = sol.east_m, sol.north_m, sol.R_ned_cam
                solved = True
        if not solved:
            cam_e, cam_n, cov_en, stats = self._translation_only(ortho, rays, ground, sig, cam_e, cam_n, peak.sigma_px)
            pos_rms_px = stats.get("rms_residual_px", math.nan)
            if "n_inliers" not in base:  # no pose solve: the blocks' own statistics gate the fix
                base.update(stats)
        floor = max(cfg.map_floor_px * self.map.native_gsd_m, cfg.map_floor_m) ** 2
        if math.isfinite(pos_rms_px):
            # block errors are spatially correlated (local misregistration, changed ground):
            # they do not average out, so half their spread stays in the position
            floor += 0.5 * (pos_rms_px * g) ** 2
        cov_en = cov_en * cfg.covariance_inflation**2 + np.eye(2) * floor
        body_from_cam = self.camera.body_from_camera
        R_ned_body = R @ body_from_cam.T
        off = R_ned_body @ self.camera.camera_offset_body_m  # camera position minus body position (NED)
        body_e, body_n = cam_e - float(off[1]), cam_n - float(off[0])
        cov_ne = np.array([[cov_en[1, 1], cov_en[0, 1]], [cov_en[0, 1], cov_en[0, 0]]])
        return RegistrationResult(True, "", east_m=body_e, north_m=body_n, cov_ne=cov_ne,
                                  refined_attitude=euler_zyx_from_ned_body(R_ned_body), peak_candidates=peaks,
                                  **base)  # type: ignore[arg-type]

    def _translation_only(self, ortho: Ortho, rays: F64, ground: F64, sig: F64, cam_e: float, cam_n: float,
                          peak_sigma_px: float) -> tuple[float, float, F64, dict[str, float]]:
        """Camera (east, north), its (east, north) covariance and block statistics with the
        telemetry attitude trusted: its error projects straight into position (the tilt
        term of the covariance); blocks still vote (inliers, residuals, a median shift)."""
        cfg = self.config
        g = ortho.gsd_m
        h0 = ortho.height_m
        s = peak_sigma_px * g
        stats: dict[str, float] = {}
        if len(rays) >= 3:
            hits = ground_hits(np.array([cam_e, cam_n, h0, 0.0, 0.0, 0.0]), rays, ortho.R_ned_cam)
            off_b = ground - hits
            norm = np.linalg.norm(off_b - np.median(off_b, axis=0), axis=1) / sig
            keep = norm <= 3.0 * max(1.4826 * float(np.median(norm)), 1.0)
            shift = np.median(off_b[keep], axis=0)
            cam_e, cam_n = cam_e + float(shift[0]), cam_n + float(shift[1])
            resid = off_b[keep] - shift
            rms_px = float(np.sqrt(np.mean(np.sum(resid**2, axis=1)))) / g
            s = max(s, rms_px * g / math.sqrt(max(int(keep.sum()) - 1, 1)))
            stats = dict(n_inliers=int(keep.sum()), rms_residual_px=rms_px, chi2_dof=float(np.mean(norm[keep] ** 2)))
        tilt = cfg.attitude_sigma_rad * h0
        return cam_e, cam_n, np.eye(2) * (s * s + tilt * tilt), stats

    def _peak_candidates(self, ortho: Ortho, patch: object, scores: F32, peak: Peak,
                         k: int) -> tuple[tuple[float, float, float], ...]:
        """(east, north, score) of the body origin at the `k` best local maxima of the
        global correlation, translation only (telemetry attitude), best first: the
        global peak itself (sub-pixel), then its rivals."""
        R_ned_body = ortho.R_ned_cam @ self.camera.body_from_camera.T
        off = R_ned_body @ self.camera.camera_offset_body_m
        oe, on = ortho.pixel_to_rel_en(0.0, 0.0)
        best = (float(peak.dx), float(peak.dy), float(peak.score))
        pts = [best] + [(float(x), float(y), s) for x, y, s in local_peaks(scores, k)
                        if max(abs(x - best[0]), abs(y - best[1])) > 1.0][: k - 1]
        out = []
        for x, y, s in pts:
            e, n = patch.pixel_to_en(x, y)  # type: ignore[attr-defined]
            out.append((float(e - oe) - float(off[1]), float(n - on) - float(off[0]), s))
        return tuple(out)

    def _block_correspondences(self, ortho: Ortho, field: F32, sfield: F32, patch: object, dx: float, dy: float) -> tuple[F64, F64, F64, int]:
        """Refine a grid of template blocks around the global peak: image rays <-> map ground points."""
        cfg = self.config
        th, tw = field.shape[:2]
        nx, ny = cfg.block_grid
        bw, bh = tw // nx, th // ny
        r = cfg.block_search_px
        pix: list[F64] = []
        ground: list[tuple[float, float]] = []
        sig: list[float] = []
        n_blocks = 0
        for j in range(ny):
            for i in range(nx):
                x0, y0 = i * bw, j * bh
                blk = field[y0:y0 + bh, x0:x0 + bw]
                if float(np.hypot(blk[..., 0], blk[..., 1]).mean()) < cfg.min_block_weight:
                    continue
                sx0 = int(round(dx)) + x0 - r
                sy0 = int(round(dy)) + y0 - r
                if sx0 < 0 or sy0 < 0 or sx0 + bw + 2 * r > sfield.shape[1] or sy0 + bh + 2 * r > sfield.shape[0]:
                    continue
                n_blocks += 1
                pk, _ = correlate(sfield[sy0:sy0 + bh + 2 * r, sx0:sx0 + bw + 2 * r], blk, exclusion_px=2)
                if pk.score <= 0 or pk.distinctiveness < 0.02:
                    continue
                if max(abs(pk.dx - r), abs(pk.dy - r)) >= r - 0.5:
                    continue  # best at the window's border: the true match may lie outside it
                uc, vc = x0 + (bw - 1) / 2.0, y0 + (bh - 1) / 2.0
                e_rel, n_rel = ortho.pixel_to_rel_en(uc, vc)
                uv = ortho.rel_en_to_image(e_rel, n_rel)
                if not np.all(np.isfinite(uv)):
                    continue
                ge, gn = patch.pixel_to_en(sx0 + pk.dx + uc - x0, sy0 + pk.dy + vc - y0)  # type: ignore[attr-defined]
                pix.append(uv[0])
                ground.append((float(ge), float(gn)))
                sig.append(max(pk.sigma_px, 0.3) * ortho.gsd_m)
        # one vectorised undistortion for all blocks (element-wise, so the same rays as one
        # call per block, which cost ~1 ms each in numpy call overhead)
        rays = self.camera.unproject(np.asarray(pix, np.float64)) if pix else np.zeros((0, 3))
        return np.asarray(rays, np.float64).reshape(-1, 3), np.asarray(ground, np.float64).reshape(-1, 2), np.asarray(sig, np.float64), n_blocks
