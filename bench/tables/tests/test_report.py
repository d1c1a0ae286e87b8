import math

import pytest

import report
from report import QueryRun


def run(hot, rows=None, error=None):
    return QueryRun(cold_s=hot[0] if hot else None, hot_s=list(hot), rows=rows, error=error)


def test_median_odd_even_and_empty():
    assert report.median([3, 1, 2]) == 2
    assert report.median([4, 1, 3, 2]) == 2.5
    with pytest.raises(ValueError):
        report.median([])


def test_percentile_nearest_rank():
    values = list(range(1, 201))  # 1..200
    assert report.percentile(values, 50) == 100
    assert report.percentile(values, 99) == 198
    assert report.percentile(values, 100) == 200
    assert report.percentile([7], 99) == 7


def test_geomean():
    assert report.geomean([1, 100]) == pytest.approx(10)
    assert report.geomean([2, 8]) == pytest.approx(4)
    with pytest.raises(ValueError):
        report.geomean([1, 0])


def test_summarize_numbers_and_texts():
    s = report.summarize([["A", "1.50", None], ["B  ", "2", None]])
    assert s.rows == 2
    assert s.columns[0][0] == "text"
    assert s.columns[1] == ("num", 3.5)
    assert s.columns[2][0] == "text"  # NULLs are texts
    # Trailing blanks (CHAR padding) do not matter, order does not matter.
    assert report.summarize([["B", "2", None], ["A", "1.5", None]]).columns == s.columns


def test_differences_detects_each_kind():
    base = report.summarize([["x", "10.00"], ["y", "20.00"]])
    assert report.differences(base, report.summarize([["y", "20"], ["x", "10.0000000001"]])) == []
    assert report.differences(base, report.summarize([["x", "10.00"]])) == ["2 rows vs 1"]
    assert "column 2 sums" in report.differences(base, report.summarize([["x", "10"], ["y", "21"]]))[0]
    assert "column 1 texts differ" in report.differences(base, report.summarize([["x", "10"], ["z", "20"]]))
    assert "column 2 is num vs text" in report.differences(base, report.summarize([["x", "a"], ["y", "b"]]))


def test_check_query_uses_duckdb_as_reference_and_flags_mismatch():
    good = [["1", "2.5"]]
    status, details = report.check_query({"strata": run([1.0], rows=[["1", "2.6"]]),
                                          "postgres": run([1.0], rows=good),
                                          "duckdb": run([1.0], rows=good)})
    assert status == "MISMATCH"
    assert details == ["duckdb vs strata: column 2 sums to 2.5 vs 2.6"]
    assert report.check_query({"postgres": run([1.0], rows=good), "duckdb": run([1.0], rows=good)})[0] == "ok"
    assert report.check_query({"duckdb": run([1.0], rows=good), "strata": None})[0] == "-"


def test_common_queries_and_geomeans():
    results = {"strata": {"q01": run([0.1, 0.1]), "q02": run([], error="boom")},
               "postgres": {"q01": run([2.0, 2.0]), "q02": run([1.0])}}
    assert report.common_queries(results, ["strata", "postgres"]) == ["q01"]
    gm = report.geomeans(results, ["strata", "postgres"], ["q01"])
    assert gm["strata"] == pytest.approx(0.1) and gm["postgres"] == pytest.approx(2.0)


def _loads(strata_s, pg_s):
    return {"strata": {"t": (1000, strata_s)}, "postgres": {"t": (1000, pg_s)}}


def test_verdicts_met_and_missed():
    results = {"strata": {"q01": run([0.01]), "q02": run([0.02])},
               "postgres": {"q01": run([0.3]), "q02": run([0.5])},
               "duckdb": {"q01": run([0.01]), "q02": run([0.015])}}
    systems = ["strata", "postgres", "duckdb"]
    vs = report.verdicts(results, systems, _loads(1.0, 6.0), {"strata": [0.001] * 100}, ["t"], 2)
    by = {v.what: v for v in vs}
    assert by["geomean hot query speedup vs PostgreSQL"].met  # 27.4x
    assert by["geomean hot query time vs DuckDB native"].met  # 1.15x
    assert by["COPY rows/s vs PostgreSQL"].met and by["COPY rows/s vs PostgreSQL"].value == "6.00x"
    assert by["freshness p99, insert ack to visible"].met

    results["strata"]["q02"] = run([0.2])
    vs = report.verdicts(results, systems, _loads(1.0, 4.0), {"strata": [0.5] * 100}, ["t"], 2)
    assert not any(v.met for v in vs)


def test_verdicts_missed_when_strata_fails_a_query():
    results = {"strata": {"q01": run([0.001]), "q02": run([], error="unsupported")},
               "postgres": {"q01": run([1.0]), "q02": run([1.0])}}
    vs = report.verdicts(results, ["strata", "postgres"], {}, {}, ["t"], 2)
    speed = vs[0]
    assert "(1/2 queries)" in speed.value
    assert not speed.met
    assert not vs[1].met  # no load figures
    assert vs[2].value == "-" and not vs[2].met  # no freshness


def test_load_table_totals_and_rate():
    loads = {"postgres": {"a": (100, 1.0), "b": (300, 1.0)}}
    assert report.load_totals(loads["postgres"], ["a", "b"]) == (400, 2.0)
    assert report.load_totals(loads["postgres"], ["a", "b", "c"]) is None
    text = report.load_table(loads, ["strata", "postgres"], ["a", "b"])
    assert "200" in text.splitlines()[-1]  # 400 rows / 2 s


def test_query_table_marks_failures_and_ratios():
    results = {"strata": {"q01": run([0.01]), "q02": run([], error="x")},
               "postgres": {"q01": run([0.25])}, "duckdb": {"q01": run([0.005])}}
    text = report.query_table(results, ["strata", "postgres", "duckdb"], ["q01", "q02"],
                              {"q01": ("ok", [])})
    q01, q02 = text.splitlines()[1:]
    assert "25.00x" in q01 and "2.00x" in q01 and q01.endswith("ok")
    assert "FAILED" in q02
    assert not math.isnan(report.geomean([0.01]))
