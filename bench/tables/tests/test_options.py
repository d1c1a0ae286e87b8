import argparse

import pytest

import bench_tables


def test_parse_queries():
    assert bench_tables.parse_queries("1,q6,14") == ["q01", "q06", "q14"]
    assert bench_tables.parse_queries("all") == list(bench_tables.ALL_QUERIES)
    assert len(bench_tables.ALL_QUERIES) == 22
    for bad in ("0", "23", "x", "1,,2"):
        with pytest.raises(argparse.ArgumentTypeError):
            bench_tables.parse_queries(bad)


def test_parse_systems_keeps_display_order():
    assert bench_tables.parse_systems("duckdb,strata") == ["strata", "duckdb"]
    with pytest.raises(argparse.ArgumentTypeError):
        bench_tables.parse_systems("mysql")


def test_defaults():
    opts = bench_tables.parse_args([])
    assert opts.scale == 1.0 and opts.hot_runs == 3 and opts.freshness_trials == 200
    assert opts.systems == ["strata", "postgres", "duckdb"]
    with pytest.raises(SystemExit):
        bench_tables.parse_args(["--scale", "0"])


def test_every_query_file_exists_and_names_its_query():
    for i, q in enumerate(bench_tables.ALL_QUERIES, start=1):
        with open(f"{bench_tables.QUERY_DIR}/{q}.sql") as f:
            text = f.read()
        assert text.startswith(f"-- TPC-H Q{i}:"), q
        assert text.count(";") == 1, f"{q}: one statement"
