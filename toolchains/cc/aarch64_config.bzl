"""A C/C++ toolchain description for aarch64 Linux (the Jetson), using Debian's
cross compiler (`apt-get install gcc-aarch64-linux-gnu g++-aarch64-linux-gnu`).

The project ships no C++ today; Bazel still resolves a C++ toolchain for every
target platform (py_binary asks for one), so `--config=jetson` needs this
declaration. Only actions that really compile C++ would run these tools.
"""

load("@bazel_tools//tools/cpp:cc_toolchain_config_lib.bzl", "tool_path")

_TOOLS = ["gcc", "ld", "ar", "cpp", "gcov", "nm", "objdump", "strip"]

def _impl(ctx):
    tool_paths = [
        tool_path(name = tool, path = "/usr/bin/aarch64-linux-gnu-" + tool)
        for tool in _TOOLS
    ]
    return cc_common.create_cc_toolchain_config_info(
        ctx = ctx,
        toolchain_identifier = "aarch64-linux-gnu",
        host_system_name = "x86_64-unknown-linux-gnu",
        target_system_name = "aarch64-unknown-linux-gnu",
        target_cpu = "aarch64",
        target_libc = "glibc",
        compiler = "gcc",
        abi_version = "aarch64",
        abi_libc_version = "glibc",
        tool_paths = tool_paths,
        cxx_builtin_include_directories = [
            "/usr/aarch64-linux-gnu/include",
            "/usr/lib/gcc-cross/aarch64-linux-gnu",
        ],
    )

aarch64_toolchain_config = rule(
    implementation = _impl,
    attrs = {},
    provides = [CcToolchainConfigInfo],
)
