"""`operator`: the ground workstation binary."""

from __future__ import annotations

import sys

from gps_denied_onboard.cli.commands import Command, run_cli

COMMANDS = (
    Command("provision", "build a signed map cache for a flight area",
            "gps_denied_onboard.runtime_root.operator_provision:provision_main", "map cache issue"),
    Command("keygen", "create an operator Ed25519 signing key",
            "gps_denied_onboard.runtime_root.operator_provision:keygen_main", "map cache issue"),
    Command("compile-engines", "compile ONNX models into inference engines for this host's GPU",
            "gps_denied_onboard.runtime_root.operator_provision:compile_engines_main", "map cache issue"),
    Command("simulate", "render a simulated flight dataset from a synthetic world or a map pair",
            "gps_denied_onboard.runtime_root.operator_sim:simulate_main", "simulator issue"),
    Command("bench", "run the localizer over flight datasets and score it",
            "gps_denied_onboard.runtime_root.operator_sim:bench_main", "simulator issue"),
    Command("fdr", "read, verify, recover and export flight data recorder logs",
            "gps_denied_onboard.components.c13_fdr.tool:main", "FDR issue"),
    Command("upload", "upload in-flight captures to the ingest service after landing",
            "gps_denied_onboard.runtime_root.operator_upload:upload_main", "upload issue"),
    Command("ingest-server", "run the reference ingest service",
            "gps_denied_onboard.runtime_root.operator_upload:ingest_server_main", "upload issue"),
    Command("info", "print the version and the components built into this binary",
            "gps_denied_onboard.runtime_root.operator_info:info_main"),
)


def main(argv: list[str] | None = None) -> int:
    return run_cli(
        "operator",
        "Ground workstation for gps_denied_onboard: map-cache provisioning, engine\n"
        "compilation, simulation and benchmarks, flight logs, post-flight upload.",
        COMMANDS,
        argv,
    )


if __name__ == "__main__":
    sys.exit(main())
