"""Component gates (ADR-002): which components each binary contains, decided at build time.

Every component has one boolean build setting per binary, e.g.
`--//flags:airborne_c10_provisioning=true`. The binaries in //python select their
component libraries on these flags; a gated-off component is absent from the
binary's runfiles (audited by //tests/contract:binary_contents_test).
"""

# id -> package under python/gps_denied_onboard/components/
COMPONENTS = [
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
]

# Operator-only components: never in the airborne binary (DESIGN §1).
OPERATOR_ONLY = ["c10_provisioning", "c11_tile_manager", "c12_sim"]

BINARIES = ["airborne", "operator", "demo"]

# Defaults per binary. The operator runs the localizer for `bench`/`replay`
# checks on the ground, so it carries every component but the live autopilot link.
DEFAULTS = {
    "airborne": [c for c in COMPONENTS if c not in OPERATOR_ONLY],
    "operator": [c for c in COMPONENTS if c != "c2_fc_link"],
    "demo": COMPONENTS,
}

def _bool_flag_impl(ctx):
    return []

bool_flag = rule(
    implementation = _bool_flag_impl,
    build_setting = config.bool(flag = True),
    doc = "A command-line boolean build setting (no skylib needed).",
)

def component_gates():
    """Declares `<binary>_<component>` flags and `<binary>_<component>_on` config settings."""
    for binary in BINARIES:
        for component in COMPONENTS:
            name = "%s_%s" % (binary, component)
            bool_flag(
                name = name,
                build_setting_default = component in DEFAULTS[binary],
            )
            native.config_setting(
                name = name + "_on",
                flag_values = {":" + name: "True"},
            )

def component_libraries(components = COMPONENTS):
    """The py_library labels of `components` (every component by default)."""
    return ["//python/gps_denied_onboard/components/%s" % c for c in components]

def gated_components(binary):
    """The `deps` of `binary`: each component library under its gate."""
    deps = []
    for component in COMPONENTS:
        deps += select({
            "//flags:%s_%s_on" % (binary, component): [
                "//python/gps_denied_onboard/components/%s" % component,
            ],
            "//conditions:default": [],
        })
    return deps
