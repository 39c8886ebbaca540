"""`info`: what this binary is and what it contains."""

from __future__ import annotations

import argparse
import platform
import sys

from gps_denied_onboard import __version__
from gps_denied_onboard.runtime_root.availability import COMPONENTS, component_available


def print_info(binary: str, argv: list[str]) -> int:
    """`<binary> info`: version, interpreter, and which components are built in."""
    argparse.ArgumentParser(prog=f"{binary} info", description=print_info.__doc__).parse_args(argv)
    print(f"{binary} {__version__} (Python {platform.python_version()}, {platform.machine()})")
    print(f"interpreter: {sys.executable}")
    for component in COMPONENTS:
        print(f"  {component:<22} {'built in' if component_available(component) else 'gated out'}")
    return 0
