"""The folders name the architecture, and imports point inward only.

Layers, innermost first: the model core; the inputs (scenario files, the seed tree); running
(runner, metrics, results folders); experiments; presentation (figures, report, generated
docs); the classroom view; the command line. A module may import its own layer and the layers
inside it, never one outside it, and no two modules import each other, directly or around a
cycle. Imports inside functions count too: a lazy import is still a dependency."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

SIM = Path(__file__).resolve().parents[1] / "sim"

#: Layer of each top-level part of the package (a subpackage, or a module of sim/ itself).
LAYERS: dict[str, int] = {
    "model": 0,
    "rng": 1, "scenario": 1,
    "run": 2,
    "experiments": 3,
    "present": 4,
    "demo": 5, "lesson": 5,
    "cli": 6, "__main__": 6,
    "__init__": 0,  # only the version string
}


def module_name(path: Path) -> str:
    rel = path.relative_to(SIM.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def part_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def imports(path: Path) -> set[str]:
    """The sim modules ``path`` imports (resolved absolute names), anywhere in the file."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name == "sim" or a.name.startswith("sim.")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not (target == "sim" or target.startswith("sim.")):
                continue
            for a in node.names:  # `from . import demo` imports a module, `from .x import f` a name
                sub = f"{target}.{a.name}"
                out.add(sub if (SIM.parent / sub.replace(".", "/")).with_suffix(".py").exists()
                        or (SIM.parent / sub.replace(".", "/")).is_dir() else target)
    return out


MODULES = {module_name(p): p for p in sorted(SIM.rglob("*.py"))}
GRAPH = {m: {t for t in imports(p) if t in MODULES and t != m} for m, p in MODULES.items()}


def test_every_part_of_the_package_has_a_layer():
    """A new folder or top-level module must be placed in a layer before it can be used."""
    assert {part_of(m) for m in MODULES} <= set(LAYERS), set(part_of(m) for m in MODULES) - set(LAYERS)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_inward(module):
    """No module imports a layer outside its own."""
    own = LAYERS[part_of(module)]
    outward = sorted(t for t in GRAPH[module] if LAYERS[part_of(t)] > own)
    assert not outward, f"{module} (layer {own}) imports {outward}"


def test_no_import_cycles():
    """Depth-first search over the module graph finds no back edge (package __init__ files that
    re-export their own modules are edges too, so the check is strict)."""
    colour: dict[str, int] = {}
    path: list[str] = []

    def visit(m: str) -> None:
        colour[m] = 1
        path.append(m)
        for t in sorted(GRAPH[m]):
            if colour.get(t) == 1:
                cycle = path[path.index(t):] + [t]
                # a package importing its own submodules is how re-exports work, not a cycle
                if not all(a.startswith(b + ".") or b.startswith(a + ".") for a, b in zip(cycle, cycle[1:])):
                    raise AssertionError("import cycle: " + " -> ".join(cycle))
            elif t not in colour:
                visit(t)
        path.pop()
        colour[m] = 2

    for m in sorted(MODULES):
        if m not in colour:
            visit(m)


def test_the_check_sees_an_outward_import(tmp_path):
    """The resolver finds relative and lazy imports (or the layer test could pass vacuously)."""
    f = SIM / "model" / "booking.py"
    assert "sim.model.params" in imports(f)
    cli = imports(SIM / "cli" / "planners.py")
    assert "sim.run.results" in cli and "sim.cli.common" in cli
    # a lazy import inside a function counts
    assert "sim.present.plots" in imports(SIM / "cli" / "research.py")
