"""The DuckDB-dialect SQL of Segmint, transpiled to Spark SQL with sqlglot (issue 8).

sqlglot translates most of it; what it leaves in DuckDB's words is rewritten here, on the
parsed tree, so that the one source stays the DuckDB SQL:

- `try_strptime(x, fmt)` → `try_to_timestamp(x, <the Java pattern of fmt>)`;
- `quantile_cont(x, [q, …])` → `percentile(x, array(q, …))` (exact, linear interpolation,
  as DuckDB's quantile_cont and numpy);
- `arg_min(x, (a, b))` → `min_by(x, struct(a, b))`;
- `CREATE … TEMP TABLE t AS q` → `CREATE OR REPLACE TEMPORARY VIEW t AS q` (the caller caches).
"""

from __future__ import annotations


def to_spark(sql: str) -> str:
    """Return the DuckDB-dialect statement `sql` as Spark SQL."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.dialects.spark import Spark

    tree = sqlglot.parse_one(sql, read="duckdb")
    generator = Spark().generator()

    def rewrite(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Anonymous) and node.name.lower() == "try_strptime":
            value, fmt = node.expressions
            java = generator.format_time(exp.StrToTime(this=value, format=fmt))
            pattern = exp.Literal.string(java.strip("'"))
            return exp.Anonymous(this="TRY_TO_TIMESTAMP", expressions=[value, pattern])
        if isinstance(node, exp.PercentileCont) or (
            isinstance(node, exp.Anonymous) and node.name.lower() == "quantile_cont"
        ):
            if isinstance(node, exp.PercentileCont):
                value, quantiles = node.this, node.expression
            else:
                value, quantiles = node.expressions
            if isinstance(quantiles, exp.Array):
                quantiles = exp.Array(expressions=quantiles.expressions)
            return exp.Anonymous(this="PERCENTILE", expressions=[value, quantiles])
        if isinstance(node, exp.ArgMin) and isinstance(node.expression, exp.Tuple):
            struct = exp.Struct(expressions=list(node.expression.expressions))
            return exp.Anonymous(this="MIN_BY", expressions=[node.this, struct])
        return node

    tree = tree.transform(rewrite)
    if isinstance(tree, exp.Create) and tree.args.get("kind", "").upper() == "TABLE":
        name = tree.this.sql("spark")
        return f"CREATE OR REPLACE TEMPORARY VIEW {name} AS {tree.expression.sql('spark')}"
    return tree.sql("spark")
