"""C1's public surface: one frame-source protocol for replay, live capture and simulation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class CapturedFrame:
    """A frame with its capture time (ns, the system's one monotonic clock). `image` is
    None when the frame was lost or corrupt (`error` says why): the consumer still
    learns that time passed and degrades instead of stalling."""

    timestamp_ns: int
    sequence: int
    image: npt.NDArray[np.uint8] | None
    error: str = ""


@dataclass
class SourceStats:
    """Counters every source keeps (read by health monitoring and the FDR)."""

    delivered: int = 0
    dropped: int = 0          # frames the source knows it lost (gaps, decode failures)
    corrupt: int = 0
    out_of_order: int = 0     # non-monotonic timestamps refused
    stalls: int = 0
    reconnects: int = 0


@runtime_checkable
class FrameSource(Protocol):
    """Yields frames in capture order with strictly increasing timestamps."""

    @property
    def stats(self) -> SourceStats: ...

    def read(self) -> CapturedFrame | None:
        """The next frame, or None at the end of a finite stream."""
        ...

    def close(self) -> None: ...
