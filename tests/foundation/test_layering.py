"""The architecture rules of style.md, checked on the source: domain packages never import the
adapters, `detect` stands alone as a library, and the domain packages keep a fixed order (a
package imports only packages in its own layer or below, and no modules import each other in a
circle), so a new cycle fails the suite.

Imports inside functions and under `TYPE_CHECKING` count: hiding an import in a function does not
make the dependency go away. `KNOWN_UPWARD` is the debt that remains, named one import at a time;
an entry that is no longer there fails too, so the list only shrinks.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "honorbound"
ADAPTERS = ("honorbound.api", "honorbound.web", "honorbound.cli")
DOMAIN = (
    "accounts",
    "audit",
    "backup",
    "consent",
    "crypto",
    "db",
    "detect",
    "disclosures",
    "intents",
    "jobs",
    "notify",
    "policy",
    "recordings",
    "retention",
    "rights",
    "systems",
    "breach",
    "bpo",
    "collection",
    "vault",
)


def imports_of(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def all_imports(path: Path) -> list[tuple[int, str]]:
    """Every absolute import of the module, with `from a.b import c` read as `a.b.c` (a module or
    a name in `a.b`; `module_of` tells which)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.extend((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)
    return found


def modules(package: str) -> list[Path]:
    return sorted((SRC / package).rglob("*.py"))


@pytest.mark.parametrize("package", [p for p in DOMAIN if (SRC / p).is_dir()])
def test_domain_packages_do_not_import_adapters(package: str) -> None:
    offences = [
        f"{path.relative_to(SRC)}:{line}: imports {name}"
        for path in modules(package)
        for line, name in imports_of(path)
        if name.startswith(ADAPTERS)
    ]
    assert not offences, "\n".join(offences)


def test_detect_imports_nothing_else_from_honorbound() -> None:
    if not (SRC / "detect").is_dir():
        pytest.skip("the detect package is not there yet")
    offences = [
        f"{path.relative_to(SRC)}:{line}: imports {name}"
        for path in modules("detect")
        for line, name in imports_of(path)
        if name.startswith("honorbound") and not name.startswith("honorbound.detect")
    ]
    assert not offences, "\n".join(offences)


def test_the_check_sees_an_offending_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from honorbound.api.deps import SessionDep\nimport honorbound.web\n")
    names = [name for _, name in imports_of(bad)]
    assert [n for n in names if n.startswith(ADAPTERS)] == ["honorbound.api.deps", "honorbound.web"]


def test_spark_stays_out_of_the_engine_and_off_the_adapters() -> None:
    """`honorbound.detect` never imports Spark (it is an optional extra), and the Spark job
    reuses domain code, not the command line or the API."""
    offences = [
        f"{path.relative_to(SRC)}:{line}: imports {name}"
        for path in modules("detect")
        for line, name in imports_of(path)
        if name.split(".")[0] in ("pyspark", "py4j", "delta")
    ]
    offences += [
        f"{path.relative_to(SRC)}:{line}: imports {name}"
        for path in modules("spark")
        for line, name in imports_of(path)
        if name.startswith(ADAPTERS)
    ]
    assert not offences, "\n".join(offences)


# The domain packages from the bottom up; a package may import its own layer and the ones below.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("config", "db", "crypto", "detect", "i18n", "ratelimit"),
    ("jobs",),
    ("audit",),
    ("notify",),
    ("policy",),
    ("vault",),
    ("accounts",),
    ("consent",),
    ("disclosures",),
    ("retention",),
    ("systems",),
    ("recordings",),
    ("rights",),
    ("breach", "intents"),
    ("backup", "spark", "bpo", "collection"),
)
# Upward imports that remain (module inside src/honorbound, package it imports). Fix one, and
# remove its line here.
KNOWN_UPWARD: frozenset[tuple[str, str]] = frozenset(
    {
        ("notify/sms_gateway.py", "systems"),
        ("policy/rulesdoc.py", "consent"),
        ("vault/consents.py", "consent"),
        ("retention/sweep.py", "systems"),
        ("systems/requests.py", "rights"),
        ("systems/tasks.py", "rights"),
        ("recordings/incidents.py", "breach"),
        # Build-time catalog extraction reads the taxonomy's names (not used at runtime).
        ("i18n/extract.py", "policy"),
    }
)
LAYER_OF = {package: i for i, layer in enumerate(LAYERS) for package in layer}


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def domain_modules(root: Path) -> dict[str, Path]:
    """Module name -> file, for every module of a package in LAYERS (and top-level modules)."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        top = path.relative_to(root).parts[0].removesuffix(".py")
        if top in LAYER_OF:
            found[module_name(path, root)] = path
    return found


def module_of(name: str, known: dict[str, Path]) -> str | None:
    """The project module an imported name lives in (`a.b.c` is module `a.b.c` or a name in
    `a.b`), or None when it is not one of `known`."""
    while name:
        if name in known:
            return name
        name = name.rpartition(".")[0]
    return None


def import_graph(root: Path) -> dict[str, dict[str, int]]:
    """Importing module -> {imported module: line}, domain modules only."""
    known = domain_modules(root)
    graph: dict[str, dict[str, int]] = {}
    for name, path in known.items():
        edges: dict[str, int] = {}
        for line, imported in all_imports(path):
            target = module_of(imported, known)
            if target is not None and target != name:
                edges.setdefault(target, line)
        graph[name] = edges
    return graph


def package_of(module: str) -> str:
    return module.split(".")[1]


def upward_imports(root: Path) -> dict[tuple[str, str], str]:
    """(file, imported package) -> where, for each import of a higher layer."""
    graph, known = import_graph(root), domain_modules(root)
    found: dict[tuple[str, str], str] = {}
    for importer, edges in graph.items():
        for imported, line in edges.items():
            low, high = package_of(importer), package_of(imported)
            if LAYER_OF[high] > LAYER_OF[low]:
                rel = known[importer].relative_to(root).as_posix()
                found.setdefault((rel, high), f"{rel}:{line}: imports {imported}")
    return found


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, {}):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.append(top)
                if top == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def test_every_domain_package_has_a_layer() -> None:
    adapters = {"api", "web", "cli"}
    packages = {p.name for p in SRC.iterdir() if (p / "__init__.py").is_file()} - adapters
    assert packages <= set(LAYER_OF), f"put these in LAYERS: {sorted(packages - set(LAYER_OF))}"


def test_no_domain_package_imports_a_higher_layer() -> None:
    found = upward_imports(SRC)
    new = [where for key, where in sorted(found.items()) if key not in KNOWN_UPWARD]
    assert not new, "imports of a higher layer (see LAYERS):\n" + "\n".join(new)


def test_the_known_upward_imports_are_still_there() -> None:
    gone = sorted(KNOWN_UPWARD - set(upward_imports(SRC)))
    assert not gone, f"fixed: remove these from KNOWN_UPWARD: {gone}"


def test_no_modules_import_each_other_in_a_circle() -> None:
    found = cycles(import_graph(SRC))
    assert not found, "import cycles (imports inside functions count):\n" + "\n".join(
        " <-> ".join(group) for group in found
    )


def _plant(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / "honorbound" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "honorbound"


def test_the_checks_see_a_planted_upward_import_and_a_hidden_cycle(tmp_path: Path) -> None:
    root = _plant(
        tmp_path,
        {
            "__init__.py": "",
            "vault/__init__.py": "",
            "vault/a.py": "def f():\n    from honorbound.rights.b import g\n",
            "rights/__init__.py": "",
            "rights/b.py": "from honorbound.vault import a\n",
            "rights/c.py": "from honorbound.rights import d\n",
            "rights/d.py": "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    from honorbound.rights.c import X\n",
        },
    )
    assert set(upward_imports(root)) == {("vault/a.py", "rights")}
    assert sorted(cycles(import_graph(root))) == [
        ["honorbound.rights.b", "honorbound.vault.a"],
        ["honorbound.rights.c", "honorbound.rights.d"],
    ]
