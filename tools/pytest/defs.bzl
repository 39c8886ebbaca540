"""`pytest_test`: a py_test that runs its sources under pytest (tools/pytest/pytest_main.py)."""

def pytest_test(name, srcs, deps = [], data = [], args = [], workers = 0, **kwargs):
    """A Bazel test target running `srcs` with pytest.

    Args:
      name: target name.
      srcs: the test_*.py files (helpers and conftest.py may be included too).
      deps: py_library deps.
      data: runtime files.
      args: extra pytest arguments.
      workers: > 0 runs the cases on that many pytest-xdist workers.
      **kwargs: passed to py_test (size, timeout, shard_count, tags, ...).
    """
    extra = ["-n", str(workers)] if workers > 0 else []

    # Tell Bazel's scheduler what the xdist workers will use, so parallel test
    # targets do not oversubscribe the machine.
    tags = kwargs.pop("tags", [])
    if workers > 0:
        tags = tags + ["cpu:%d" % workers]
    native.py_test(
        name = name,
        srcs = srcs + ["//tools/pytest:pytest_main.py"],
        main = "//tools/pytest:pytest_main.py",
        deps = deps + ["//python:pythonpath", "//tests:conftest"],
        data = data,
        args = extra + args + ["$(location %s)" % s for s in srcs if s.split(":")[-1].split("/")[-1].startswith("test_")],
        python_version = "PY3",
        srcs_version = "PY3",
        tags = tags,
        **kwargs
    )
