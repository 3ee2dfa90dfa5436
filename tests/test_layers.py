"""The house's layering, checked: api -> generation -> search -> indexer, never upwards.

Read from the source with ``ast`` (no imports executed), so a module that sneaks in an upward
import -- even inside a function -- fails here with its name and line.
"""

from __future__ import annotations

import ast

import pytest

from tests.conftest import REPO

LAYERS = ["indexer", "search", "generation", "api"]  # each may import only those before it


def _imports(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.lineno, node.module.split(".")[0]


@pytest.mark.parametrize("package", LAYERS)
def test_no_package_imports_a_layer_above_it(package):
    above = set(LAYERS[LAYERS.index(package) + 1:])
    wrong = [f"{path.relative_to(REPO)}:{line} imports {name}"
             for path in sorted((REPO / package).rglob("*.py"))
             for line, name in _imports(path) if name in above]
    assert not wrong, "\n".join(wrong)


def test_all_sql_lives_in_the_catalog():
    """The indexer/catalog package is the one place that speaks SQL (and owns the migrations)."""
    import re

    sql = re.compile(r"\b(SELECT\s+\S+.*\bFROM|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|"
                     r"CREATE\s+(TABLE|INDEX|VIRTUAL))\b")
    wrong = [f"{path.relative_to(REPO)}:{number}"
             for package in LAYERS for path in sorted((REPO / package).rglob("*.py"))
             if (REPO / "indexer" / "catalog") not in path.parents
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if sql.search(line)]
    assert not wrong, "SQL outside indexer/catalog/: " + ", ".join(wrong)
