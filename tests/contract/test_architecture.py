"""Architecture rules, checked on the source (imports parsed with `ast`).

1. A component reaches another component only through its public surface:
   the package itself, its `interface` or its `errors` module. (Composition
   roots in `runtime_root/` build concrete classes and may reach further, ADR-009.)
2. Flight code (C1–C9, C13, the airborne composition roots, the cross-cutting
   core) never imports operator-only components (C10, C11, C12): the airborne
   binary does not contain them (ADR-002).
3. Library code does not print (CLI modules, tools and the demo may).
"""

from __future__ import annotations

import ast
from pathlib import Path

import gps_denied_onboard

PKG_ROOT = Path(gps_denied_onboard.__file__).parent
PREFIX = "gps_denied_onboard.components."
OPERATOR_ONLY = {"c10_provisioning", "c11_tile_manager", "c12_sim"}
PUBLIC_SUBMODULES = {"interface", "errors"}
# Modules whose job is talking to a terminal.
PRINT_ALLOWED = ("cli/", "runtime_root/", "/tool.py", "/cli.py", "/tools/", "autopilot_emulator/")


def _modules() -> list[tuple[Path, str]]:
    out = []
    for path in sorted(PKG_ROOT.rglob("*.py")):
        rel = path.relative_to(PKG_ROOT).as_posix()
        out.append((path, rel))
    return out


def _is_module(dotted: str) -> bool:
    base = PKG_ROOT.parent / dotted.replace(".", "/")
    return base.with_suffix(".py").exists() or (base / "__init__.py").exists()


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) for every module a file imports, `from pkg import submodule` included."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found += [
                (node.lineno, f"{node.module}.{alias.name}")
                for alias in node.names
                if _is_module(f"{node.module}.{alias.name}")
            ]
    return found


def _owner(rel: str) -> str | None:
    parts = rel.split("/")
    return parts[1] if parts[0] == "components" and len(parts) > 2 else None


def _is_flight_code(rel: str) -> bool:
    owner = _owner(rel)
    if owner is not None:
        return owner not in OPERATOR_ONLY
    if rel.startswith("runtime_root/"):
        name = rel.split("/")[-1]
        return name.startswith("airborne") or name in ("__init__.py", "availability.py", "info.py")
    return not rel.startswith(("cli/", "autopilot_emulator/")) and "/testing/" not in rel


def component_boundary_violations() -> list[str]:
    bad = []
    for path, rel in _modules():
        owner = _owner(rel)
        if rel.startswith("runtime_root/"):
            continue
        for line, name in _imports(path):
            if not name.startswith(PREFIX):
                continue
            target, *rest = name[len(PREFIX):].split(".")
            if target != owner and rest and rest[0] not in PUBLIC_SUBMODULES:
                bad.append(f"{rel}:{line} imports {name} (use {PREFIX}{target} or its interface)")
    return bad


def operator_only_imports_in_flight_code() -> list[str]:
    bad = []
    for path, rel in _modules():
        if not _is_flight_code(rel):
            continue
        for line, name in _imports(path):
            if name.startswith(PREFIX) and name[len(PREFIX):].split(".")[0] in OPERATOR_ONLY:
                bad.append(f"{rel}:{line} imports operator-only {name}")
    return bad


def prints_in_library_code() -> list[str]:
    bad = []
    for path, rel in _modules():
        if any(marker in "/" + rel for marker in PRINT_ALLOWED):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
                bad.append(f"{rel}:{node.lineno} prints")
    return bad


def test_sources_are_found() -> None:
    rels = [rel for _, rel in _modules()]
    assert "components/c13_fdr/__init__.py" in rels
    assert len(rels) > 30


def test_components_use_each_others_public_surface_only() -> None:
    assert component_boundary_violations() == []


def test_flight_code_never_imports_operator_only_components() -> None:
    assert operator_only_imports_in_flight_code() == []


def test_library_code_does_not_print() -> None:
    assert prints_in_library_code() == []
