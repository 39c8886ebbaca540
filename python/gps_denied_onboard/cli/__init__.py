"""Command-line entry points of the three binaries."""
