"""The package's layers point one way (README, "Development"): a module imports only from its own
layer or a lower one, no two modules import each other (directly or around a loop), and the
training-free layers stay importable without torch. Imports are read from the source (ast), lazy
ones inside functions included: they are dependencies too."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import alignsts

PACKAGE = Path(alignsts.__file__).resolve().parent
ROOT = PACKAGE.parent

# lowest first; a module belongs to the longest prefix listed
LAYERS = {
    "alignsts.errors": 0, "alignsts.config": 0, "alignsts.atomic": 0,
    "alignsts.validate": 0, "alignsts.paths": 0, "alignsts.tempfiles": 0, "alignsts.cachedir": 0,
    "alignsts.textfiles": 0, "alignsts.lanes": 0,
    "alignsts.audio": 1,
    "alignsts.align": 2,
    "alignsts.melody": 3, "alignsts.eval": 3,
    "alignsts.models": 4,
    "alignsts.engines": 5, "alignsts.plot": 5, "alignsts.data": 5,
    "alignsts.train": 6,
    "alignsts.api": 7, "alignsts.batch": 7, "alignsts.manifest": 7,
    "alignsts": 7,                             # only the package's __init__: the API's front door
    "alignsts.cli": 8, "alignsts.cli_range": 8, "alignsts.cli_song": 8, "alignsts.cli_training": 8,
    "alignsts.ui": 8,
    "alignsts.__main__": 8, "alignsts.runner": 8,
}
HEAVY = ("torch", "transformers", "resemblyzer")
TORCH_FREE = ("alignsts.errors", "alignsts.textfiles", "alignsts.config", "alignsts.cachedir",
              "alignsts.atomic", "alignsts.validate", "alignsts.paths",
              "alignsts.tempfiles", "alignsts.lanes", "alignsts.runner", "alignsts.audio", "alignsts.align",
              "alignsts.melody", "alignsts.eval", "alignsts.engines", "alignsts.plot", "alignsts.data",
              "alignsts.api", "alignsts.cli", "alignsts.cli_range", "alignsts.cli_song", "alignsts.cli_training")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _is_module(name: str) -> bool:
    p = ROOT / name.replace(".", "/")
    return p.with_suffix(".py").is_file() or (p / "__init__.py").is_file()


def _imports(path: Path) -> tuple[set[str], set[str]]:
    """(alignsts modules imported anywhere in the file, top-level packages imported at module level)."""
    name = _module_name(path)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    deps: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            mod = ".".join(base + ([node.module] if node.module else []))
            for alias in node.names:        # `from . import frontend` names a module
                sub = f"{mod}.{alias.name}"
                deps.add(sub if _is_module(sub) else mod)
        elif isinstance(node, ast.Import):
            deps.update(a.name for a in node.names)
    top_level = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            top_level.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            top_level.add(node.module.split(".")[0])
    return {d for d in deps if d == "alignsts" or d.startswith("alignsts.")} - {name}, top_level


def _graph() -> dict[str, set[str]]:
    return {_module_name(p): _imports(p)[0] for p in sorted(PACKAGE.rglob("*.py"))}


def layer_of(module: str) -> int:
    """The layer of ``module`` by its longest listed prefix; a new top-level module must be listed."""
    found = [k for k in LAYERS if module == k or (k != "alignsts" and module.startswith(k + "."))]
    if not found:
        raise KeyError(f"{module} has no layer: add it to LAYERS (and to the README's module map)")
    return LAYERS[max(found, key=len)]


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return groups


def test_every_module_has_a_layer():
    missing = []
    for m in _graph():
        try:
            layer_of(m)
        except KeyError as e:
            missing.append(str(e))
    assert missing == []


def test_imports_point_down_the_layers():
    upward = [f"{src} (layer {layer_of(src)}) imports {dst} (layer {layer_of(dst)})"
              for src, deps in _graph().items() for dst in sorted(deps) if layer_of(dst) > layer_of(src)]
    assert upward == []


def test_no_import_cycle_between_modules():
    assert _cycles(_graph()) == []


def test_no_import_cycle_between_packages():
    """align <-> melody style loops: packages of one layer may use each other one way only."""
    def pkg(m: str) -> str:
        return ".".join(m.split(".")[:2])

    graph: dict[str, set[str]] = {}
    for src, deps in _graph().items():
        graph.setdefault(pkg(src), set()).update(pkg(d) for d in deps if pkg(d) != pkg(src))
    assert _cycles(graph) == []


def test_the_checker_sees_an_upward_import_and_a_cycle():
    assert layer_of("alignsts.audio.io") < layer_of("alignsts.engines.neural") < layer_of("alignsts.cli")
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_training_free_layers_import_no_heavy_package_at_module_level():
    offenders = [f"{_module_name(p)} imports {sorted(_imports(p)[1] & set(HEAVY))}"
                 for p in sorted(PACKAGE.rglob("*.py"))
                 if _module_name(p).startswith(TORCH_FREE) and _imports(p)[1] & set(HEAVY)]
    assert offenders == []


def test_importing_every_training_free_module_loads_no_torch():
    modules = sorted(m for m in _graph() if m.startswith(TORCH_FREE) and m != "alignsts.__main__")
    code = (f"import importlib, sys\nfor m in {modules!r}:\n    importlib.import_module(m)\n"
            f"bad = [m for m in {HEAVY!r} if m in sys.modules]\nassert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)
