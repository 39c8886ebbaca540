"""`airborne`: the flight binary that runs on the Jetson."""

from __future__ import annotations

import sys

from gps_denied_onboard.cli.commands import Command, run_cli

COMMANDS = (
    Command("run", "fly: live camera + MAVLink link, outputs position to the autopilot",
            "gps_denied_onboard.runtime_root.airborne:run_main", "airborne runtime issue"),
    Command("replay", "run the whole pipeline over a recorded flight dataset and write the track "
            "(--mavlink: and feed an autopilot)",
            "gps_denied_onboard.runtime_root.airborne_replay:replay_main", "localization issue"),
    Command("info", "print the version and the components built into this binary",
            "gps_denied_onboard.runtime_root.airborne_info:info_main"),
    Command("fdr", "read, verify, recover and export flight data recorder logs",
            "gps_denied_onboard.components.c13_fdr.tool:main", "FDR issue"),
)


def main(argv: list[str] | None = None) -> int:
    return run_cli(
        "airborne",
        "GPS-denied onboard navigation: keeps the drone's position known from a downward\n"
        "camera matched against a signed map cache, and feeds it to the autopilot.",
        COMMANDS,
        argv,
    )


if __name__ == "__main__":
    sys.exit(main())
