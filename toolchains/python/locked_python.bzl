"""Repository rule exposing the hash-locked Python environment as a py_runtime.

tools/bazel builds the environment from third_party/python/requirements.lock and
exports its interpreter as GDN_LOCKED_PYTHON; this rule turns that into
@locked_python//:runtime. Running plain `bazel` (not the wrapper) fails here
with a message saying so.
"""

_BUILD = """\
package(default_visibility = ["//visibility:public"])

py_runtime(
    name = "runtime",
    interpreter_path = "{interpreter}",
    python_version = "PY3",
    stub_shebang = "#!{interpreter}",
)
"""

def _locked_python_impl(rctx):
    interpreter = rctx.os.environ.get("GDN_LOCKED_PYTHON", "")
    if not interpreter:
        fail("GDN_LOCKED_PYTHON is not set: run Bazel through ./tools/bazel, " +
             "which builds the locked Python environment and sets it.")
    if not rctx.path(interpreter).exists:
        fail("GDN_LOCKED_PYTHON=%s does not exist: run ./tools/bazel again to rebuild it." % interpreter)
    rctx.file("WORKSPACE", "workspace(name = \"locked_python\")\n")
    rctx.file("BUILD.bazel", _BUILD.format(interpreter = interpreter))

locked_python = repository_rule(
    implementation = _locked_python_impl,
    environ = ["GDN_LOCKED_PYTHON"],
    local = True,
)
