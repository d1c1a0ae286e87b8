import schema


def test_every_table_has_its_primary_key_columns():
    for t in schema.TABLES:
        names = [c for c, _ in t.columns]
        assert all(k in names for k in t.primary_key), t.name
    assert len(schema.TABLES) == 8
    assert sum(len(t.columns) for t in schema.TABLES) == 61  # TPC-H's column count


def test_ddl_with_and_without_primary_keys():
    lineitem = schema.TABLES[-1]
    assert "PRIMARY KEY (l_orderkey, l_linenumber)" in schema.create_table(lineitem)
    assert "PRIMARY KEY" not in schema.create_table(lineitem, with_primary_key=False)
    assert schema.schema_sql().count("CREATE TABLE") == 8


def test_pg_indexes_name_real_columns():
    cols = {t.name: {c for c, _ in t.columns} for t in schema.TABLES}
    for sql, (table, keys) in zip(schema.pg_index_sql(), schema.PG_INDEXES):
        assert all(k in cols[table] for k in keys)
        assert sql.startswith(f"CREATE INDEX {table}_")
