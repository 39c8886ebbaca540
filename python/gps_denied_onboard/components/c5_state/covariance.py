"""Small 2x2 covariance helpers the filter and the reported-covariance floor share."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from gps_denied_onboard.components.c5_state.errors import MeasurementError

F64 = npt.NDArray[np.float64]


def check_cov_2x2(cov: Any, name: str, t_ns: int) -> None:
    """Raise `MeasurementError` naming `name` unless `cov` is a finite positive-definite 2x2 matrix."""
    c = np.asarray(cov, np.float64)
    if c.shape != (2, 2) or not np.all(np.isfinite(c)) or c[0, 0] <= 0 or c[1, 1] <= 0 or np.linalg.det(c) <= 0:
        raise MeasurementError(name, c.tolist() if c.size <= 4 else c.shape, "a finite positive-definite 2x2 matrix (m^2)", t_ns)


def deficit_to_floor(cov: F64, floor: F64) -> F64:
    """What `cov` lacks of `floor`, direction by direction: `cov` plus it dominates both."""
    w, v = np.linalg.eigh(floor - cov)
    return np.asarray((v * np.maximum(w, 0.0)) @ v.T, np.float64)


def major_axis_sigma(cov_ne: F64) -> float:
    """Major-axis 1-sigma of a horizontal position covariance (m)."""
    return float(np.sqrt(max(np.linalg.eigvalsh(cov_ne).max(), 0.0)))
