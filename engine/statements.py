"""Every SQL statement the code holds, read from the source without running it.

`statements(paths)` finds each call `query(SQL, …)` in the given Python files and resolves SQL
when it is a string literal, a name bound to a string (module level or in the calling function),
an f-string or a `+` of those. A statement picked from a module-level registry (a dict of SQL
strings iterated with `for k, sql in D.items()`, or a dict of dataclass instances read as
`stat = D[k]` then `stat.sql`) stands for every SQL of that registry: one `Found` each. A call
whose SQL cannot be resolved this way is reported as such, so every statement stays readable (and
lintable) from the source. Used by the lint of
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


def _registries(tree: ast.Module, env: dict[str, str]) -> dict[str, list]:
    """Module-level dicts: name → the list of their values (AST nodes)."""
    out = {}
    for stmt in tree.body:
        target = stmt.targets[0] if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 else \
            stmt.target if isinstance(stmt, ast.AnnAssign) else None
        if isinstance(target, ast.Name) and isinstance(getattr(stmt, "value", None), ast.Dict):
            out[target.id] = stmt.value.values
    return out


def _fields(tree: ast.Module) -> dict[str, list[str]]:
    """Module-level classes (dataclasses): name → their annotated fields, in order."""
    return {c.name: [s.target.id for s in c.body if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)]
            for c in tree.body if isinstance(c, ast.ClassDef)}


def _field(call: ast.AST, attr: str, fields: dict[str, list[str]], env: dict[str, str]) -> str | None:
    """The value given to field `attr` in `Class(…)`, when a string."""
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id in fields):
        return None
    for k in call.keywords:
        if k.arg == attr:
            return _value(k.value, env)
    names = fields[call.func.id]
    i = names.index(attr) if attr in names else len(call.args)
    return _value(call.args[i], env) if i < len(call.args) else None


def _from_registry(arg: ast.AST, scope: ast.AST, registries: dict, fields: dict, env: dict) -> list[str] | None:
    """Every SQL of the registry `arg` is drawn from in `scope`, or None."""
    if isinstance(arg, ast.Name):              # for k, sql in D.items() / for sql in D.values()
        for node in ast.walk(scope):
            if isinstance(node, ast.For) and isinstance(node.iter, ast.Call) and \
                    isinstance(node.iter.func, ast.Attribute) and isinstance(node.iter.func.value, ast.Name) and \
                    node.iter.func.value.id in registries:
                target = node.target.elts[-1] if isinstance(node.target, ast.Tuple) else node.target
                if isinstance(target, ast.Name) and target.id == arg.id and \
                        node.iter.func.attr in ("items", "values"):
                    return [_value(v, env) for v in registries[node.iter.func.value.id]]
    if isinstance(arg, ast.Attribute) and isinstance(arg.value, ast.Name):    # stat = D[k]; stat.sql
        for node in ast.walk(scope):
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and \
                    isinstance(node.targets[0], ast.Name) and node.targets[0].id == arg.value.id:
                v = node.value
                source = v.value if isinstance(v, ast.Subscript) else \
                    v.func.value if isinstance(v, ast.Call) and isinstance(v.func, ast.Attribute) and \
                    v.func.attr == "get" else None
                if isinstance(source, ast.Name) and source.id in registries:
                    # an entry whose SQL is empty runs none (a statistic computed otherwise)
                    return [v for x in registries[source.id] if (v := _field(x, arg.attr, fields, env)) != ""]
    return None


def statements(paths: list[Path], root: Path) -> list[Found]:
    """Each `query(…)` call in `paths` (Python files), with its SQL when resolvable (several
    `Found` at one line when the SQL is drawn from a registry)."""
    out = []
    for path in paths:
        tree = ast.parse(path.read_text(), str(path))
        module = _bind(tree.body, {})
        registries, fields = _registries(tree, module), _fields(tree)
        scopes = [(tree, module)] + [(f, _bind(list(ast.walk(f)), module)) for f in ast.walk(tree)
                                     if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))]
        seen = set()
        for scope, env in reversed(scopes):        # innermost function first
            for node in ast.walk(scope):
                if isinstance(node, ast.Call) and node.args and id(node) not in seen and (
                        getattr(node.func, "id", None) == "query" or getattr(node.func, "attr", None) == "query"):
                    seen.add(id(node))
                    where = str(path.relative_to(root))
                    sql = _value(node.args[0], env)
                    drawn = None if sql is not None else _from_registry(node.args[0], scope, registries, fields, env)
                    out += [Found(where, node.lineno, x) for x in drawn] if drawn else [Found(where, node.lineno, sql)]
    return sorted(out, key=lambda f: (f.file, f.line))
