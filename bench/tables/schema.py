"""The TPC-H-shaped schema: the same CREATE TABLE text for every system.

Text columns are VARCHAR(n) where the TPC-H schema says CHAR(n) or
VARCHAR(n): DuckDB has no blank-padded CHAR, and PostgreSQL's CHAR(n) pads
values on output, which would make result checks compare padding.
"""

from dataclasses import dataclass

MONEY = "DECIMAL(15,2)"


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple  # (name, type) pairs, in file order
    primary_key: tuple


TABLES = (
    Table("region", (("r_regionkey", "INTEGER"), ("r_name", "VARCHAR(25)"),
                     ("r_comment", "VARCHAR(152)")), ("r_regionkey",)),
    Table("nation", (("n_nationkey", "INTEGER"), ("n_name", "VARCHAR(25)"),
                     ("n_regionkey", "INTEGER"), ("n_comment", "VARCHAR(152)")), ("n_nationkey",)),
    Table("supplier", (("s_suppkey", "INTEGER"), ("s_name", "VARCHAR(25)"),
                       ("s_address", "VARCHAR(40)"), ("s_nationkey", "INTEGER"),
                       ("s_phone", "VARCHAR(15)"), ("s_acctbal", MONEY),
                       ("s_comment", "VARCHAR(101)")), ("s_suppkey",)),
    Table("customer", (("c_custkey", "INTEGER"), ("c_name", "VARCHAR(25)"),
                       ("c_address", "VARCHAR(40)"), ("c_nationkey", "INTEGER"),
                       ("c_phone", "VARCHAR(15)"), ("c_acctbal", MONEY),
                       ("c_mktsegment", "VARCHAR(10)"), ("c_comment", "VARCHAR(117)")),
          ("c_custkey",)),
    Table("part", (("p_partkey", "INTEGER"), ("p_name", "VARCHAR(55)"),
                   ("p_mfgr", "VARCHAR(25)"), ("p_brand", "VARCHAR(10)"),
                   ("p_type", "VARCHAR(25)"), ("p_size", "INTEGER"),
                   ("p_container", "VARCHAR(10)"), ("p_retailprice", MONEY),
                   ("p_comment", "VARCHAR(23)")), ("p_partkey",)),
    Table("partsupp", (("ps_partkey", "INTEGER"), ("ps_suppkey", "INTEGER"),
                       ("ps_availqty", "INTEGER"), ("ps_supplycost", MONEY),
                       ("ps_comment", "VARCHAR(199)")), ("ps_partkey", "ps_suppkey")),
    Table("orders", (("o_orderkey", "BIGINT"), ("o_custkey", "INTEGER"),
                     ("o_orderstatus", "VARCHAR(1)"), ("o_totalprice", MONEY),
                     ("o_orderdate", "DATE"), ("o_orderpriority", "VARCHAR(15)"),
                     ("o_clerk", "VARCHAR(15)"), ("o_shippriority", "INTEGER"),
                     ("o_comment", "VARCHAR(79)")), ("o_orderkey",)),
    Table("lineitem", (("l_orderkey", "BIGINT"), ("l_partkey", "INTEGER"),
                       ("l_suppkey", "INTEGER"), ("l_linenumber", "INTEGER"),
                       ("l_quantity", MONEY), ("l_extendedprice", MONEY),
                       ("l_discount", MONEY), ("l_tax", MONEY),
                       ("l_returnflag", "VARCHAR(1)"), ("l_linestatus", "VARCHAR(1)"),
                       ("l_shipdate", "DATE"), ("l_commitdate", "DATE"),
                       ("l_receiptdate", "DATE"), ("l_shipinstruct", "VARCHAR(25)"),
                       ("l_shipmode", "VARCHAR(10)"), ("l_comment", "VARCHAR(44)")),
          ("l_orderkey", "l_linenumber")),
)

TABLE_NAMES = tuple(t.name for t in TABLES)

# PostgreSQL only: indexes on the join keys that the primary keys do not
# already lead with. Built after the load, then ANALYZE.
PG_INDEXES = (
    ("nation", ("n_regionkey",)),
    ("supplier", ("s_nationkey",)),
    ("customer", ("c_nationkey",)),
    ("partsupp", ("ps_suppkey",)),
    ("orders", ("o_custkey",)),
    ("lineitem", ("l_partkey", "l_suppkey")),
    ("lineitem", ("l_suppkey",)),
)

# The freshness probe's table (Strata and PostgreSQL).
FRESHNESS_TABLE = "bench_freshness"


def create_table(table, with_primary_key=True):
    cols = [f"    {name} {typ} NOT NULL" for name, typ in table.columns]
    if with_primary_key:
        cols.append(f"    PRIMARY KEY ({', '.join(table.primary_key)})")
    return f"CREATE TABLE {table.name} (\n" + ",\n".join(cols) + "\n);"


def schema_sql(with_primary_keys=True):
    return "\n".join(create_table(t, with_primary_keys) for t in TABLES) + "\n"


def pg_index_sql():
    return [f"CREATE INDEX {table}_{'_'.join(cols)}_idx ON {table} ({', '.join(cols)})"
            for table, cols in PG_INDEXES]


def freshness_sql(with_primary_key=True):
    key = " PRIMARY KEY" if with_primary_key else ""
    return f"CREATE TABLE {FRESHNESS_TABLE} (id BIGINT NOT NULL{key}, note VARCHAR(16) NOT NULL)"
