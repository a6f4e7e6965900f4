"""DuckDB's dialect → Spark SQL: sqlglot's transpiler plus the few rewrites it does not make.

The SQL of fraudnet is written once, in DuckDB's dialect. `to_spark(sql)` parses it with sqlglot
(pinned in `constraints.txt`: its output is part of what the `spark` tier tests) and rewrites,
on the syntax tree, what sqlglot alone would translate wrongly or not at all:

- `list(x ORDER BY k, …)` becomes `collect_list(x)` under sqlglot, which **loses the order** on
  Spark (its partial aggregates are merged in any order): rewritten to
  `transform(array_sort(collect_list(named_struct('k0', k, …, 'v', x))), s -> s.v)`, and
  `list(DISTINCT x ORDER BY x)` to `array_sort(collect_set(x))` (a DESC key through a comparator
  of `array_sort`, NULLs last as in DuckDB); over no rows (a `FILTER` that keeps none) DuckDB's
  `list()` is NULL where Spark's `collect_list` is an empty array: an empty result becomes NULL;
- `regexp_full_match(s, 'p')` (RE2's full match) becomes `s RLIKE '^(?:p)\\z'` (Java's regex
  finds a match anywhere; `\\z`, not `$`, which Java also matches before a final line break);
- a list slice `l[a:b]` (a to b, inclusive) becomes `slice(l, a, b - a + 1)`, as `list_slice`;
- `format('€{:,.2f}', x)` (fmt's syntax) becomes `format_string('€%,.2f', x)` (Java's);
  `list_slice(l, a, b)` (a to b, inclusive) becomes `slice(l, a, b - a + 1)`;
  `quantile_disc(x, q)` becomes `percentile_disc(q) WITHIN GROUP (ORDER BY x)`;
- `INTERVAL (expr) DAY` (a computed number of days) does not parse in Spark: rewritten to
  `make_dt_interval(expr)`;
- `round(x, n)` of a double rounds `x · 10ⁿ` half away from zero, then divides, on DuckDB; on
  Spark it rounds the shortest decimal that prints `x` half up, so that 0.5 × 521.93
  (260.964999…) is 260.96 on DuckDB and 260.97 on Spark: rewritten to `round(x * 10ⁿ, 0) / 10ⁿ`
  (the product is the same double on both, and both round an integer-and-a-half away from zero);
- `a / b` is a division of doubles on DuckDB whatever the operands; on Spark a decimal (`0.5` is
  one) keeps the division decimal, to 6 digits when the precision runs out (an expected count of
  21.467105 where DuckDB has 21.467105263…): both operands cast to double;
- `a NOT IN (SELECT b …)` is correct on Spark but always planned as a broadcast (null-aware
  anti join) of the subquery — at national scale, tens of millions of ids: rewritten to
  `NOT EXISTS (SELECT 1 FROM (SELECT b AS k0 …) WHERE k0 = a)`, which Spark plans as a
  shuffled anti join. This assumes the keys are never NULL (ids are not): with a NULL key the
  two forms differ.

`problems(sql)` names the constructs that do not port (the lint of `tests/test_engine.py`): besides
the functions that differ between engines, `HUGEINT` (Spark has no 128-bit integer), `strptime`
(the two date parsers accept different texts), a `regexp_replace` that may match twice (DuckDB
replaces the first match, Spark every one), `DISTINCT ON` without `ORDER BY` (any row, another on
each engine) and a window extending a named one (`OVER (w ORDER BY …)`: Spark does not parse it).
Column names, order and types are made DuckDB's by `engine.spark` after the run.
Sources: sqlglot's documentation (https://sqlglot.com), the Spark SQL reference
(https://spark.apache.org/docs/latest/sql-ref.html), DuckDB's aggregate documentation.
"""
from __future__ import annotations

import re

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel

# Functions whose results differ between the engines (hashes, randomness, clocks) or that
# Spark lacks: refused by the lint, never translated.
UNPORTABLE_FUNCTIONS = {"hash", "md5_number", "random", "setseed", "uuid", "gen_random_uuid", "now",
                        "current_date", "current_timestamp", "get_current_time", "today", "list_sort",
                        "list_reverse_sort", "array_sort"}


class Unportable(ValueError):
    """A statement uses a construct that has no faithful Spark translation."""


def parse(sql: str) -> exp.Expression:
    """The syntax tree of one DuckDB statement. Raises `Unportable` if sqlglot cannot parse it."""
    try:
        return sqlglot.parse_one(sql, read="duckdb")
    except sqlglot.errors.ParseError as e:
        raise Unportable(f"sqlglot cannot parse it: {e}") from None


def problems(sql: str) -> list[str]:
    """What in `sql` does not port to Spark (empty when it does)."""
    try:
        tree = parse(sql)
    except Unportable as e:
        return [str(e)]
    out = []
    if re.search(r"\blen\s*\(", sql, re.IGNORECASE):
        out.append("len(): Spark's length() takes strings only: write array_length() for a list, length() for a string")
    for node in tree.walk():
        name = (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower() \
            if isinstance(node, exp.Func) else ""
        if name in UNPORTABLE_FUNCTIONS or isinstance(node, (exp.Rand, exp.CurrentDate, exp.CurrentTimestamp)):
            out.append(f"{node.sql('duckdb')}: differs between engines or is missing on Spark")
        if isinstance(node, exp.TableSample):
            out.append(f"{node.sql('duckdb')}: sampling differs between engines")
        if isinstance(node, exp.Order) and isinstance(node.parent, exp.AggFunc) \
                and not isinstance(node.parent, (exp.ArrayAgg, exp.GroupConcat)):
            out.append(f"{node.parent.sql('duckdb')}: ORDER BY inside an aggregate other than list()")
        if isinstance(node, exp.DataType) and node.this in (exp.DataType.Type.INT128, exp.DataType.Type.UINT128):
            out.append("HUGEINT: Spark has no 128-bit integer (write DECIMAL(38, 0))")
        if isinstance(node, exp.StrToTime) or name in ("try_strptime", "strptime"):
            out.append(f"{node.sql('duckdb')}: DuckDB's strptime and Spark's (Java's) date parser accept "
                       "different texts (one-digit fields, month names): match the form with a regular "
                       "expression and try_cast its ISO text AS DATE")
        if isinstance(node, exp.RegexpReplace) and not _replaces_alike(node):
            out.append(f"{node.sql('duckdb')}: DuckDB replaces the first match, Spark every match: anchor the "
                       "pattern (^ or $) or pass 'g'")
        if isinstance(node, exp.Distinct) and node.args.get("on") is not None and \
                not (isinstance(node.parent, exp.Select) and node.parent.args.get("order")):
            out.append(f"{node.parent.sql('duckdb')[:80]}: DISTINCT ON without ORDER BY keeps any row, another "
                       "on each engine (order it, or keep one row by a rule: row_number())")
        if isinstance(node, exp.Window) and isinstance(node.args.get("alias"), exp.Identifier) and \
                (node.args.get("order") or node.args.get("partition_by") or node.args.get("spec")):
            out.append(f"{node.sql('duckdb')}: a window extending a named window does not parse on Spark "
                       "(write the window out)")
        if isinstance(node, (exp.ArrayAgg, exp.GroupConcat)) and isinstance(node.this, exp.Order):
            try:
                _ordered_list(node.this)
            except Unportable as e:
                out.append(f"{node.sql('duckdb')}: {e}")
    if not out:
        try:
            to_spark(sql)
        except (Unportable, sqlglot.errors.SqlglotError) as e:
            out.append(str(e))
    return out


def _replaces_alike(node: exp.RegexpReplace) -> bool:
    """Whether `regexp_replace` replaces the same on both engines: every match (`'g'`), or a
    pattern anchored at an end of the text, which matches once at most."""
    modifiers, pattern = node.args.get("modifiers"), node.expression
    if modifiers is not None:
        return isinstance(modifiers, exp.Literal) and modifiers.this == "g"
    return isinstance(pattern, exp.Literal) and (pattern.this.startswith("^") or pattern.this.endswith("$"))


def to_spark(sql: str) -> str:
    """`sql` in Spark's dialect, `$name` parameters as `:name`. Raises `Unportable`."""
    tree = parse(sql).transform(_rewrite)
    try:
        return tree.sql(dialect="spark", unsupported_level=ErrorLevel.RAISE)
    except sqlglot.errors.UnsupportedError as e:
        raise Unportable(f"sqlglot cannot write it for Spark: {e}") from None


def _spark(text: str) -> exp.Expression:
    return sqlglot.parse_one(text, read="spark")


def _ordered_list(order: exp.Order, where: exp.Expression | None = None) -> exp.Expression:
    """`list(x ORDER BY keys) [FILTER (WHERE …)]` as an order-keeping Spark expression."""
    order = order.copy().transform(_rewrite)      # what the list holds is rewritten too
    inner, keys = order.this, order.expressions
    where = where.copy().transform(_rewrite) if where is not None else None
    filt = f" FILTER (WHERE {where.this.sql('spark')})" if where is not None else ""
    if isinstance(inner, exp.Distinct):
        value = inner.expressions[0]
        if len(inner.expressions) != 1 or [k.this for k in keys] != [value]:
            raise Unportable("list(DISTINCT x ORDER BY …) is rewritten only when ordered by x itself")
        listed = f"array_sort(collect_set({value.sql('spark')}){filt})"
        return _spark(f"CASE WHEN size({listed}) > 0 THEN {listed} END")
    fields = ", ".join(f"'k{i}', {k.this.sql('spark')}" for i, k in enumerate(keys))
    cases = " ".join(
        f"WHEN l.k{i} IS NULL AND r.k{i} IS NOT NULL THEN 1 WHEN l.k{i} IS NOT NULL AND r.k{i} IS NULL THEN -1 "
        f"WHEN l.k{i} < r.k{i} THEN {1 if k.args.get('desc') else -1} WHEN l.k{i} > r.k{i} THEN {-1 if k.args.get('desc') else 1}"
        for i, k in enumerate(keys))
    listed = (f"transform(array_sort(collect_list(named_struct({fields}, 'v', {inner.sql('spark')})){filt}, "
              f"(l, r) -> CASE {cases} ELSE 0 END), s -> s.v)")
    return _spark(f"CASE WHEN size({listed}) > 0 THEN {listed} END")     # DuckDB: NULL over no rows


def _ordered_string(node: exp.GroupConcat) -> exp.Expression:
    """`string_agg(x, sep ORDER BY keys)` as `array_join` of the order-keeping list."""
    sep = node.args.get("separator")
    listed = _ordered_list(node.this)
    return _spark(f"array_join({listed.sql('spark')}, {sep.sql('spark') if sep else repr(',')})")


_FMT = re.compile(r"\{(:(,?)(\.\d+)?([df]?))?\}")


def _format(node: exp.Format) -> exp.Expression:
    """DuckDB's `format` (fmt: `{}`, `{:,.2f}`) as Spark's `format_string` (Java: `%s`, `%,.2f`)."""
    pattern = node.this
    if not (isinstance(pattern, exp.Literal) and pattern.is_string):
        raise Unportable("format() with a pattern that is not a literal")
    text = pattern.this.replace("%", "%%")
    java = _FMT.sub(lambda m: "%s" if not m.group(1) else f"%{m.group(2)}{m.group(3) or ''}{m.group(4) or 's'}", text)
    if "{" in java or "}" in java:
        raise Unportable(f"format pattern {pattern.this!r} is not translated")
    args = ", ".join(e.copy().transform(_rewrite).sql("spark") for e in node.expressions)
    return _spark(f"format_string({exp.Literal.string(java).sql('spark')}, {args})")


def _not_exists(not_in: exp.Not) -> exp.Expression:
    """`outer NOT IN (SELECT a, … FROM …)` → `NOT EXISTS (SELECT 1 FROM (SELECT a AS __k0, …) …)`."""
    test: exp.In = not_in.this
    sub = test.args["query"].this
    outer = test.this.expressions if isinstance(test.this, exp.Tuple) else [test.this]
    cols = sub.expressions
    if len(cols) == 1 and isinstance(cols[0], exp.Tuple):
        cols = cols[0].expressions
    if not isinstance(sub, exp.Select) or len(cols) != len(outer) or any(isinstance(c, exp.Star) for c in cols):
        return not_in
    keys = sub.copy()
    keys.set("expressions", [exp.alias_(c.copy(), f"__nin_k{i}") for i, c in enumerate(cols)])
    if any(isinstance(c, (exp.Explode, exp.Unnest)) for c in cols):
        return not_in
    on = " AND ".join(f"__nin.__nin_k{i} = {o.sql('spark')}" for i, o in enumerate(outer))
    return _spark(f"NOT EXISTS (SELECT 1 FROM ({keys.sql('spark')}) AS __nin WHERE {on})")


def _slice(listed: exp.Expression, start: exp.Expression | None, end: exp.Expression | None) -> exp.Expression:
    """DuckDB's `l[a:b]` / `list_slice(l, a, b)` (1-based, both ends included) as Spark's
    `slice(l, a, length)`; the list itself rewritten too (an ordered `list()` keeps its order)."""
    if start is None or end is None:
        raise Unportable("a list slice needs both of its ends to be translated")
    l, a, b = (x.copy().transform(_rewrite).sql("spark") for x in (listed, start, end))
    return _spark(f"slice({l}, {a}, ({b}) - ({a}) + 1)")


def _full_match(node: exp.RegexpFullMatch) -> exp.Expression:
    """`regexp_full_match(s, 'p')` as `s RLIKE '^(?:p)\\z'`: the whole string, as RE2's full match."""
    pattern = node.expression
    if not (isinstance(pattern, exp.Literal) and pattern.is_string):
        raise Unportable("regexp_full_match() with a pattern that is not a literal")
    anchored = exp.Literal.string(f"^(?:{pattern.this})\\z")
    return _spark(f"{node.this.copy().transform(_rewrite).sql('spark')} RLIKE {anchored.sql('spark')}")


def _rewrite(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Filter) and isinstance(node.this, exp.ArrayAgg) and isinstance(node.this.this, exp.Order):
        return _ordered_list(node.this.this, node.expression)
    if isinstance(node, exp.ArrayAgg) and isinstance(node.this, exp.Order) and not isinstance(node.parent, exp.Filter):
        return _ordered_list(node.this)
    if isinstance(node, exp.GroupConcat) and isinstance(node.this, exp.Order):
        return _ordered_string(node)
    if isinstance(node, exp.Format):
        return _format(node)
    if isinstance(node, exp.PercentileDisc) and node.expression is not None:     # quantile_disc(x, q)
        return exp.WithinGroup(this=exp.Anonymous(this="percentile_disc", expressions=[node.expression.copy()]),
                               expression=exp.Order(expressions=[exp.Ordered(this=node.this.copy())]))
    if isinstance(node, exp.Anonymous) and node.name.lower() == "list_slice" and len(node.expressions) == 3:
        return _slice(*node.expressions)
    if isinstance(node, exp.Bracket) and len(node.expressions) == 1 and isinstance(node.expressions[0], exp.Slice):
        return _slice(node.this, node.expressions[0].this, node.expressions[0].expression)
    if isinstance(node, exp.RegexpFullMatch):
        return _full_match(node)
    if isinstance(node, exp.Interval) and not isinstance(node.this, exp.Literal) \
            and (node.unit.name if node.unit else "").upper() == "DAY":
        return _spark(f"make_dt_interval({node.this.sql('spark')})")
    if isinstance(node, exp.Not) and isinstance(node.this, exp.In) and node.this.args.get("query"):
        return _not_exists(node)
    if isinstance(node, exp.Round) and isinstance(node.args.get("decimals"), exp.Literal) \
            and node.args["decimals"].is_int and int(node.args["decimals"].name) > 0:
        scale = 10 ** int(node.args["decimals"].name)
        inner = node.this.copy().transform(_rewrite)          # a replaced node's children are not visited
        return _spark(f"round(({inner.sql('spark')}) * {scale}, 0) / {scale}")
    if isinstance(node, exp.Div):       # DuckDB divides as doubles; Spark keeps decimals decimal
        return exp.Div(this=exp.cast(node.this.copy().transform(_rewrite), "double"),
                       expression=exp.cast(node.expression.copy().transform(_rewrite), "double"))
    return node
