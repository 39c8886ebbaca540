"""C1's public surface: one frame-source protocol for replay, live capture and simulation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

FRAME_STALL = "stall"
"""`CapturedFrame.error` of the marker a live source yields when its device stalled: no
image was captured, so a consumer must not count it as proof the camera is alive."""


@dataclass(frozen=True)
class CapturedFrame:
    """A frame with its capture time (ns, the system's one monotonic clock). `image` is
    None when the frame was lost or corrupt (`error` says why): the consumer still
    learns that time passed and degrades instead of stalling."""

    timestamp_ns: int
    sequence: int
    image: npt.NDArray[np.uint8] | None
    error: str = ""

    @property
    def is_stall(self) -> bool:
        """True for the marker of a stalled device (not a captured frame)."""
        return self.image is None and self.error == FRAME_STALL


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

    @property
    def exhausted(self) -> bool:
        """True once a finite stream (a replay, a simulation) has delivered its last frame."""
        ...

    def read(self, timeout_s: float | None = None) -> CapturedFrame | None:
        """The next frame. Without `timeout_s` it blocks until one is due and returns
        None only at the end of a finite stream; with it, it returns None also when
        no frame came within `timeout_s` (`exhausted` tells the two apart), so a
        supervised reader can keep its heartbeat."""
        ...

    def close(self) -> None: ...
