"""`resolved_python`: which Python interpreter a binary gets on a given platform.

Builds `binary` for `platform` (a transition on --platforms, as `--config=jetson`
does), and writes the interpreter path of the Python toolchain resolved for that
platform. A test then checks the Jetson build really resolves the Jetson's
(Nix-provided) interpreter, not the development machine's.
"""

def _to_platform_impl(settings, attr):
    return {"//command_line_option:platforms": attr.platform}

_to_platform = transition(
    implementation = _to_platform_impl,
    inputs = [],
    outputs = ["//command_line_option:platforms"],
)

def _probe_impl(ctx):
    runtime = ctx.toolchains["@bazel_tools//tools/python:toolchain_type"].py3_runtime
    out = ctx.actions.declare_file(ctx.label.name + ".txt")
    ctx.actions.write(out, "%s\n" % runtime.interpreter_path)
    return [DefaultInfo(files = depset([out]))]

python_toolchain_probe = rule(
    implementation = _probe_impl,
    toolchains = ["@bazel_tools//tools/python:toolchain_type"],
    doc = "Writes the interpreter path of the Python toolchain resolved for the current platform.",
)

def _resolved_impl(ctx):
    probe = ctx.attr.probe[0][DefaultInfo].files.to_list()
    binary_files = ctx.attr.binary[0][DefaultInfo].files.to_list()
    out = ctx.actions.declare_file(ctx.label.name + ".txt")
    ctx.actions.run_shell(
        inputs = probe,
        outputs = [out],
        command = "{ cat \"$1\"; echo \"$2\"; } > \"$3\"",
        arguments = [probe[0].path, " ".join([f.short_path for f in binary_files]), out.path],
    )
    return [DefaultInfo(files = depset([out]), runfiles = ctx.runfiles(files = [out]))]

resolved_python = rule(
    implementation = _resolved_impl,
    attrs = {
        "platform": attr.string(mandatory = True),
        "probe": attr.label(mandatory = True, cfg = _to_platform),
        "binary": attr.label(mandatory = True, cfg = _to_platform),
        "_allowlist_function_transition": attr.label(
            default = "@bazel_tools//tools/allowlists/function_transition_allowlist",
        ),
    },
    doc = "<name>.txt: line 1 the interpreter for `platform`, line 2 the binary's outputs built for it.",
)
