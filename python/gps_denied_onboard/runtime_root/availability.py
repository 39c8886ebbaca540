"""Which components this binary was built with."""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

COMPONENTS: tuple[str, ...] = (
    "c1_camera",
    "c2_fc_link",
    "c3_vo",
    "c4_map_cache",
    "c5_state",
    "c6_place_recognition",
    "c7_geo_registration",
    "c8_inference",
    "c9_integrity",
    "c10_provisioning",
    "c11_tile_manager",
    "c12_sim",
    "c13_fdr",
)
_PREFIX = "gps_denied_onboard.components."


class ComponentNotBuiltError(ImportError):
    """A component needed by a command is gated out of this binary."""

    def __init__(self, component: str, needed_for: str) -> None:
        super().__init__(
            f"{needed_for} needs component {component}, which is not built into this binary "
            f"(build with --//flags:<binary>_{component}=true)"
        )
        self.component = component
        self.needed_for = needed_for


def component_available(component: str) -> bool:
    """True when `component`'s package is part of this binary."""
    if component not in COMPONENTS:
        raise ValueError(f"unknown component {component!r}; known: {', '.join(COMPONENTS)}")
    return importlib.util.find_spec(_PREFIX + component) is not None


def built_components() -> list[str]:
    """The components present in this binary, in C1..C13 order."""
    return [c for c in COMPONENTS if component_available(c)]


def require_component(component: str, needed_for: str) -> ModuleType:
    """Import `component`'s package or raise ComponentNotBuiltError naming what needed it."""
    if not component_available(component):
        raise ComponentNotBuiltError(component, needed_for)
    return importlib.import_module(_PREFIX + component)
