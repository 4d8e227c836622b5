"""Imports form a tree (static): the tasks package imports monitio's plain functions,
monitio's sending side imports the task objects at module top, and nothing imports
back from inside a function.

The sources are parsed in a fresh interpreter: on CPython 3.11.7, ``ast.parse`` in a
process that has caught a RecursionError before can fail with "AST constructor
recursion depth mismatch" (CPython gh-106905, fixed in 3.11.8).
"""

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def imported(node: ast.AST, module: str) -> list[str]:
    """The absolute module names an import statement in ``module`` names."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        if node.level:
            base = module.split(".")[: -node.level]
            target = ".".join([*base, node.module] if node.module else base)
        else:
            target = node.module or ""
        return [target, *(f"{target}.{alias.name}" for alias in node.names)]
    return []


def modules() -> dict[str, ast.Module]:
    found = {}
    for package in ("monitio", "monitio_tasks"):
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            found[name] = ast.parse(path.read_text())
    return found


def nested_imports() -> list[str]:
    nested = []
    for name, tree in modules().items():
        for function in ast.walk(tree):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(function):
                for target in imported(node, name):
                    if target.startswith(("monitio_tasks", "monitio.enqueue")):
                        nested.append(f"{name}.{function.name} imports {target}")
    return nested


def task_imports() -> list[str]:
    tree = modules()["monitio_tasks.tasks"]
    return sorted({t for node in ast.walk(tree) for t in imported(node, "monitio_tasks.tasks")})


def parsed_apart() -> dict[str, list[str]]:
    """What :func:`nested_imports` and :func:`task_imports` find, in a fresh process."""
    result = subprocess.run(
        [sys.executable, "-m", "tests.fast.core.test_import_tree"],
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=60,
    )
    return json.loads(result.stdout)


def test_no_function_level_import_of_the_tasks_or_the_sending_side():
    assert parsed_apart()["nested"] == []


def test_the_tasks_do_not_import_the_sending_side():
    targets = parsed_apart()["tasks"]
    assert not [t for t in targets if t.startswith("monitio.enqueue")]
    assert "monitio.outbox" in targets  # the outbox drain, below the sending side


if __name__ == "__main__":
    print(json.dumps({"nested": nested_imports(), "tasks": task_imports()}))
