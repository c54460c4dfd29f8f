"""Imports inside `efgrnet_tf` flow one way (docs/design.md, "Module graph").

Every import of every module (top level and inside functions, relative ones resolved) is read
with `ast`, without importing anything: a module may import its own package and the packages
listed before it in `LAYERS`, never a later one nor the package root, and it takes each name
from the module that defines it, not through a package's `__init__` or another module that
imported it.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import os

import pytest

PACKAGE = "efgrnet_tf"
PACKAGE_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), PACKAGE)
# Lowest first: the sub-packages (or top-level modules) of efgrnet_tf in pipeline order.
LAYERS = (
    "user_errors",
    "config",
    "boxes",
    "ops",
    "layers",
    "data",
    "interop",
    "modeling",
    "losses",
    "training",
    "evaluation",
    "visualization",
    "serving",
    "cli",
)


@dataclasses.dataclass(frozen=True)
class Import:
    """One imported module (and, for `from M import name`, the name) at `file:line`."""

    importer: str
    module: str
    name: str | None
    location: str


def module_name(path: str) -> str:
    """`efgrnet_tf/a/b.py` -> `efgrnet_tf.a.b`; a package's `__init__.py` -> the package."""
    relative = os.path.relpath(path, os.path.dirname(PACKAGE_DIR))
    parts = relative[: -len(".py")].split(os.sep)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def module_path(module: str) -> str | None:
    """The file of an `efgrnet_tf` module or package, None when there is none."""
    base = os.path.join(os.path.dirname(PACKAGE_DIR), *module.split("."))
    for candidate in (base + ".py", os.path.join(base, "__init__.py")):
        if os.path.isfile(candidate):
            return candidate
    return None


def package_modules() -> list[str]:
    """The files of every module of the package."""
    return sorted(
        os.path.join(folder, name)
        for folder, _, names in os.walk(PACKAGE_DIR)
        for name in names
        if name.endswith(".py")
    )


def imports_of(path: str) -> list[Import]:
    """Every `efgrnet_tf` import in the module file `path`."""
    with open(path, encoding="utf-8") as f:
        source = f.read()
    location = os.path.relpath(path, os.path.dirname(PACKAGE_DIR))
    return imports_in(source, module_name(path), path.endswith("__init__.py"), location)


def imports_in(source: str, importer: str, is_package: bool, location: str) -> list[Import]:
    """Every `efgrnet_tf` import in the `source` of module `importer`, wherever it stands."""
    found = []
    for node in ast.walk(ast.parse(source, location)):
        where = f"{location}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Import):
            found += [Import(importer, alias.name, None, where) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = importer.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                module = ".".join(base + ([module] if module else []))
            for alias in node.names:
                submodule = f"{module}.{alias.name}"
                if module_path(submodule) is not None:
                    found.append(Import(importer, submodule, None, where))
                else:
                    found.append(Import(importer, module, alias.name, where))
    return [i for i in found if i.module == PACKAGE or i.module.startswith(PACKAGE + ".")]


def layer_of(module: str) -> str:
    """The `LAYERS` entry a module belongs to (its first name below `efgrnet_tf`)."""
    return module.split(".")[1]


def layer_violation(imported: Import) -> str | None:
    """Why this import goes against the layers, or None."""
    if imported.importer == PACKAGE:
        return None  # the package root is the public API, above every layer
    if layer_of(imported.importer) not in LAYERS:
        return f"{imported.location}: {imported.importer} is in no layer: add it to LAYERS"
    if imported.module == PACKAGE:
        return (
            f"{imported.location}: {imported.importer} imports the package root; import "
            f"{imported.name or 'the name'} from the module that defines it"
        )
    rank = LAYERS.index
    if rank(layer_of(imported.module)) <= rank(layer_of(imported.importer)):
        return None
    return (
        f"{imported.location}: {imported.importer} ({layer_of(imported.importer)}) imports "
        f"{imported.module} ({layer_of(imported.module)}), a later layer"
    )


@functools.cache
def defined_names(module: str) -> frozenset[str]:
    """The names a module binds itself at top level (functions, classes, assignments)."""
    with open(module_path(module), encoding="utf-8") as f:
        body = ast.parse(f.read()).body
    names = set()
    statements = list(body)
    while statements:
        node = statements.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
        elif isinstance(node, (ast.If, ast.Try, ast.With)):
            statements += [*node.body, *getattr(node, "orelse", ()), *getattr(node, "handlers", ())]
            statements += getattr(node, "finalbody", ())
        elif isinstance(node, ast.ExceptHandler):
            statements += node.body
    return frozenset(names)


def hop_violation(imported: Import) -> str | None:
    """Why `from M import name` does not take `name` from the module defining it, or None."""
    if imported.name is None or imported.module == PACKAGE:
        return None
    if module_path(imported.module) is None:
        return f"{imported.location}: no module {imported.module}"
    if imported.name in defined_names(imported.module):
        return None
    return (
        f"{imported.location}: {imported.module} does not define {imported.name}; import it "
        "from the module that does"
    )


ALL_IMPORTS = [i for path in package_modules() for i in imports_of(path)]


def test_the_scan_finds_the_package_and_its_imports():
    layers_seen = {layer_of(i.importer) for i in ALL_IMPORTS if i.importer != PACKAGE}
    assert set(LAYERS) - {"user_errors", "visualization"} <= layers_seen
    assert len(ALL_IMPORTS) > 200


def test_no_module_imports_a_later_layer_or_the_package_root():
    violations = sorted({v for i in ALL_IMPORTS if (v := layer_violation(i))})
    assert violations == [], "\n".join(violations)


def test_every_name_comes_from_the_module_that_defines_it():
    violations = sorted({v for i in ALL_IMPORTS if (v := hop_violation(i))})
    assert violations == [], "\n".join(violations)


@pytest.mark.parametrize(
    ("source", "line", "expected"),
    [
        ("from efgrnet_tf.serving.labels import read_labels_file", 3, "a later layer"),
        ("def f():\n    from efgrnet_tf.training import trainer", 4, "a later layer"),
        ("from ..evaluation import detectors", 3, "a later layer"),
        ("import efgrnet_tf.cli.launch", 3, "a later layer"),
        ("from efgrnet_tf import build_model", 3, "imports the package root"),
        ("from efgrnet_tf.config import ExperimentConfig", 3, "does not define ExperimentConfig"),
        ("from efgrnet_tf.layers import deformable_conv", 3, None),
        ("from . import fgrm\nfrom efgrnet_tf.boxes.anchors import generate_anchors", 3, None),
    ],
)
def test_the_checks_name_the_file_and_line_of_a_bad_import(source, line, expected):
    source = f'"""A module of the modeling layer."""\n\n{source}\n'
    location = "efgrnet_tf/modeling/example.py"
    imports = imports_in(source, "efgrnet_tf.modeling.example", False, location)
    assert imports
    messages = [m for i in imports for m in (layer_violation(i), hop_violation(i)) if m]
    if expected is None:
        assert messages == []
    else:
        assert len(messages) == 1 and expected in messages[0]
        assert messages[0].startswith(f"{location}:{line}: ")
