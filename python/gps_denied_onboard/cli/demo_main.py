"""`demo`: the bench rehearsal: a simulated flight through the real airborne pipeline."""

from __future__ import annotations

import sys

from gps_denied_onboard.cli.commands import _resolve


def main(argv: list[str] | None = None) -> int:
    func = _resolve("gps_denied_onboard.runtime_root.demo:demo_main")
    if func is None:
        print("demo: not implemented yet (airborne runtime issue)", file=sys.stderr)
        return 3
    return int(func(list(sys.argv[1:] if argv is None else argv)) or 0)


if __name__ == "__main__":
    sys.exit(main())
