"""`binary_contents`: lists the files a binary really ships (its runfiles), so a
test can audit what a build-time gate let in. `gate_overrides` builds the binary
with some gates flipped (a Starlark transition), to prove the audit bites."""

load("//flags:components.bzl", "BINARIES", "COMPONENTS")

def _flip_gates_impl(settings, attr):
    out = {}
    for flag, value in attr.gate_overrides.items():
        out[flag] = value == "true"
    for flag in _ALL_GATES:
        if flag not in out:
            out[flag] = settings[flag]
    return out

# Every gate the transition may set (transitions must declare their outputs).
_ALL_GATES = ["//flags:%s_%s" % (b, c) for b in BINARIES for c in COMPONENTS]

_flip_gates = transition(
    implementation = _flip_gates_impl,
    inputs = _ALL_GATES,
    outputs = _ALL_GATES,
)

def _binary_contents_impl(ctx):
    binary = ctx.attr.binary[0] if type(ctx.attr.binary) == "list" else ctx.attr.binary
    files = binary[DefaultInfo].default_runfiles.files.to_list()
    lines = sorted([f.short_path for f in files])
    out = ctx.actions.declare_file(ctx.label.name + ".txt")
    ctx.actions.write(out, "\n".join(lines) + "\n")
    return [DefaultInfo(files = depset([out]), runfiles = ctx.runfiles(files = [out]))]

binary_contents = rule(
    implementation = _binary_contents_impl,
    attrs = {
        "binary": attr.label(mandatory = True, cfg = _flip_gates),
        "gate_overrides": attr.string_dict(
            doc = "flag label -> 'true'/'false', e.g. {'//flags:airborne_c10_provisioning': 'true'}",
        ),
        "_allowlist_function_transition": attr.label(
            default = "@bazel_tools//tools/allowlists/function_transition_allowlist",
        ),
    },
    doc = "Writes <name>.txt: the runfiles paths of `binary` built with `gate_overrides`.",
)
