"""relcore.dask is built on relcore's public API: it imports no other package's private
module or name (the shared private helpers at the package root, relcore/_*.py, excepted)."""

from __future__ import annotations

import ast
from pathlib import Path

import relcore

PACKAGE = Path(relcore.__file__).parent
DASK = PACKAGE / "dask"


def imports_of(path: Path) -> list[tuple[str, str]]:
    """``(absolute module, name)`` of every ``from ... import name`` in a module of
    relcore.dask, and ``(module, "")`` of every ``import module``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = ["relcore", "dask"][: 3 - node.level]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            found += [(module, alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [(alias.name, "") for alias in node.names]
    return found


def private_use(module: str, name: str) -> bool:
    """Whether importing ``name`` from ``module`` reaches into another package's privates."""
    parts = module.split(".")
    if parts[0] != "relcore" or parts[:2] == ["relcore", "dask"]:
        return False
    if len(parts) == 2 and parts[1].startswith("_"):
        return False  # a shared helper at the package root
    return any(p.startswith("_") for p in parts[1:]) or name.startswith("_")


def test_the_import_resolver_sees_relative_imports():
    seen = imports_of(DASK / "_summary.py")
    assert ("relcore.scoring.summary", "summarize_partition") in seen
    assert ("relcore.dask._frames", "partition_log") in seen
    assert private_use("relcore.scoring.summary", "_summarize")
    assert private_use("relcore.scoring.scores._fatigue", "ResponseCurve")
    assert not private_use("relcore._columns", "factorize_ids")


def test_relcore_dask_imports_no_other_packages_private_module_or_name():
    modules = sorted(DASK.glob("*.py"))
    assert len(modules) > 3
    private = [
        f"{path.name}: from {module} import {name}"
        for path in modules
        for module, name in imports_of(path)
        if private_use(module, name)
    ]
    assert private == []
