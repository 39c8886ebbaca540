"""`airborne info`."""

from gps_denied_onboard.runtime_root.info import print_info


def info_main(argv: list[str]) -> int:
    return print_info("airborne", argv)
