"""Composition roots (ADR-009): the only place that builds concrete components and
wires them together. Each binary has its own root module; components are built
in only when their gate is on (//flags), so roots import them lazily through
`require_component`."""
