"""The layers of ``dualdraw`` and the direction of their imports (docs/ARCHITECTURE.md).

Every module of the server package belongs to one layer; a module may import its own layer and the layers
below it, never one above. The offline verifier stands beside the service layer and may use only the
domain and the runtime. Import cycles between modules are refused as well. Imports under
``if TYPE_CHECKING:`` count: a type-only import upward is still a dependency upward.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "service" / "dualdraw"
# Scanned beside the server: the client distribution (its wire modules are generated, so not scanned).
CLIENT_PACKAGE = ROOT / "clients" / "python" / "dualdraw_client"

# (layer name, module prefixes, layers it may import besides its own)
LAYERS: dict[str, tuple[tuple[str, ...], frozenset[str]]] = {
    "domain": (("dualdraw.domain",), frozenset()),
    "runtime": (("dualdraw.runtime", "dualdraw.settings"), frozenset({"domain"})),
    "verifier": (("dualdraw.verifier",), frozenset({"domain", "runtime"})),
    "service_layer": (("dualdraw.service_layer",), frozenset({"domain", "runtime"})),
    "adapters": (("dualdraw.adapters",), frozenset({"domain", "runtime", "service_layer", "wire"})),
    "bootstrap": (
        ("dualdraw.bootstrap",),
        frozenset({"domain", "runtime", "service_layer", "adapters", "wire"}),
    ),
    "entrypoints": (
        ("dualdraw.entrypoints",),
        frozenset(
            {"domain", "runtime", "verifier", "service_layer", "adapters", "bootstrap", "wire", "client"}
        ),
    ),
    "wire": (("dualdraw.v1",), frozenset()),
    "client": (("dualdraw_client",), frozenset({"wire"})),
}


def layer_of(module: str) -> str | None:
    """The layer a dotted module name belongs to (``None``: not ours, e.g. the standard library)."""
    best: tuple[int, str] | None = None
    for name, (prefixes, _) in LAYERS.items():
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and (
                best is None or len(prefix) > best[0]
            ):
                best = (len(prefix), name)
    return best[1] if best else None


def module_name(path: Path, package: Path = PACKAGE) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> Iterator[tuple[str, Path]]:
    for package in (PACKAGE, CLIENT_PACKAGE):
        for path in sorted(package.rglob("*.py")):
            if "_pb2" in path.name or "migrations" in path.parts:
                continue
            yield module_name(path, package), path


def imports_of(module: str, path: Path, known: set[str]) -> set[str]:
    """The first-party modules ``module`` imports (``from a.b import c`` counts ``a.b.c`` when that is a
    module)."""
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            for alias in node.names:
                found.add(f"{target}.{alias.name}" if f"{target}.{alias.name}" in known else target)
    return {m for m in found if layer_of(m) is not None}


def graph() -> dict[str, set[str]]:
    table = dict(modules())
    known = set(table)
    return {m: {i for i in imports_of(m, p, known) if i != m} for m, p in table.items()}


def upward_imports(edges: dict[str, set[str]]) -> list[str]:
    problems = []
    for module, targets in sorted(edges.items()):
        own = layer_of(module)
        assert own is not None, f"{module} belongs to no layer: add its package to LAYERS"
        allowed = LAYERS[own][1] | {own}
        problems += [
            f"{module} ({own}) imports {t} ({layer_of(t)})"
            for t in sorted(targets)
            if layer_of(t) not in allowed
        ]
    return problems


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each a cycle of imports."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges.get(node, ()):
            if target not in edges:
                continue
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_every_module_belongs_to_a_layer() -> None:
    assert [m for m, _ in modules() if layer_of(m) is None] == []


def test_imports_only_point_down() -> None:
    assert upward_imports(graph()) == []


def test_no_import_cycles() -> None:
    assert cycles(graph()) == []


@pytest.mark.parametrize(
    ("module", "target"),
    [
        ("dualdraw.domain.model", "dualdraw.service_layer.ports"),
        ("dualdraw.service_layer.draws", "dualdraw.adapters.rules_engine.engine"),
        ("dualdraw.verifier.bundle", "dualdraw.adapters.store.unit_of_work"),
        ("dualdraw.adapters.draw_process", "dualdraw.entrypoints.grpc.server"),
        ("dualdraw_client.errors", "dualdraw.domain.model"),
        ("dualdraw.adapters.draw_process", "dualdraw.bootstrap"),
        ("dualdraw.bootstrap", "dualdraw.entrypoints.grpc.server"),
    ],
)
def test_an_upward_import_is_caught(module: str, target: str) -> None:
    edges = graph()
    edges[module] = {*edges[module], target}
    assert upward_imports(edges) == [f"{module} ({layer_of(module)}) imports {target} ({layer_of(target)})"]


def test_a_cycle_is_caught() -> None:
    edges = graph()
    edges["dualdraw.domain.region"] = {*edges["dualdraw.domain.region"], "dualdraw.domain.model"}
    edges["dualdraw.domain.model"] = {*edges["dualdraw.domain.model"], "dualdraw.domain.region"}
    assert ["dualdraw.domain.model", "dualdraw.domain.region"] in cycles(edges)
