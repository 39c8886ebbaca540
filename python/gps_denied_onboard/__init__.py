"""gps_denied_onboard: vision-based navigation for drones when GNSS is jammed or absent.

Packages:
    components/     one package per component (C1..C13), each with `interface.py`
    runtime_root/   composition roots: the only place that builds and wires components
    _types, clock, config, logging, helpers, fdr_client: cross-cutting core
"""

__version__ = "0.1.0"
