"""Every SQL statement the code holds, read from the source without running it.

`statements(paths)` finds each call `query(SQL, …)` in the given Python files and resolves SQL
when it is a string literal, a name bound to a string (module level or in the calling function),
an f-string or a `+` of those; a call whose SQL cannot be resolved this way is reported as such,
so every statement stays readable (and lintable) from the source. Used by the lint of
`tests/test_engine.py`.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Found:
    file: str
    line: int
    sql: str | None          # None: not resolvable from the source


def _value(node: ast.AST, env: dict[str, str]) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return env.get(node.id)
    if isinstance(node, ast.JoinedStr):
        parts = []
        for v in node.values:
            part = _value(v.value, env) if isinstance(v, ast.FormattedValue) else _value(v, env)
            if part is None:
                return None
            parts.append(part)
        return "".join(parts)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        a, b = _value(node.left, env), _value(node.right, env)
        return None if a is None or b is None else a + b
    return None


def _bind(body: list[ast.stmt], env: dict[str, str]) -> dict[str, str]:
    env = dict(env)
    for stmt in body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            v = _value(stmt.value, env)
            if v is not None:
                env[stmt.targets[0].id] = v
    return env


def statements(paths: list[Path], root: Path) -> list[Found]:
    """Each `query(…)` call in `paths` (Python files), with its SQL when resolvable."""
    out = []
    for path in paths:
        tree = ast.parse(path.read_text(), str(path))
        module = _bind(tree.body, {})
        scopes = [(tree, module)] + [(f, _bind(list(ast.walk(f)), module)) for f in ast.walk(tree)
                                     if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))]
        seen = set()
        for scope, env in reversed(scopes):        # innermost function first
            for node in ast.walk(scope):
                if isinstance(node, ast.Call) and node.args and id(node) not in seen and (
                        getattr(node.func, "id", None) == "query" or getattr(node.func, "attr", None) == "query"):
                    seen.add(id(node))
                    out.append(Found(str(path.relative_to(root)), node.lineno, _value(node.args[0], env)))
    return sorted(out, key=lambda f: (f.file, f.line))
