"""Components C1..C13. Each is a package exposing its surface through `__init__`
and `interface.py`; no component imports another component's internals."""
