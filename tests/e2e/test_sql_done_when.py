"""The issue's "done when", tried as a new user would: psql creates a
primary-key table and \\copy loads 200,000 rows, aggregates give exact
results, an upsert changes some rows and adds others, psycopg queries with
binary parameters, then the server is killed with kill -9 and restarted and
every answer is the same."""

import datetime as dt
from decimal import Decimal

import pytest

from pg_wire import pg  # noqa: F401  (fixture)

ROWS = 200_000
UPSERT_FROM, UPSERT_TO = 199_001, 201_000   # 1000 existing keys, 1000 new ones
BASE_TS = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)


def amount_of(i):
    return (Decimal(i * 37 % 100_000) / 100).quantize(Decimal("0.01"))


def write_csv(path):
    with open(path, "w") as f:
        f.write("id,customer,amount,placed,note\n")
        for i in range(1, ROWS + 1):
            placed = BASE_TS + dt.timedelta(seconds=i * 13)
            note = "" if i % 10 == 0 else f"order {i}"  # every tenth note is NULL
            f.write(f"{i},{i % 1000},{amount_of(i)},{placed.isoformat()},{note}\n")


def expected_model():
    rows = {i: (i % 1000, amount_of(i)) for i in range(1, ROWS + 1)}
    return rows


def apply_upsert(rows):
    for i in range(UPSERT_FROM, UPSERT_TO + 1):
        if i in rows:
            customer, amount = rows[i]
            rows[i] = (customer, amount + Decimal("1.00"))
        else:
            rows[i] = (7, Decimal("2.50"))


def psql_answers(pg):
    out = pg.psql("-At", "-F", ",", "-c",
                  "SELECT count(*), sum(id), sum(amount), min(amount), max(amount), count(note) FROM orders",
                  "-c", "SELECT customer, count(*), sum(amount) FROM orders WHERE customer IN (0, 7, 999) "
                        "GROUP BY customer ORDER BY customer")
    return out.stdout.splitlines()


def expected_psql(rows, notes):
    amounts = [a for _, a in rows.values()]
    lines = [f"{len(rows)},{sum(rows)},{sum(amounts)},{min(amounts)},{max(amounts)},{notes}"]
    for c in (0, 7, 999):
        picked = [a for cust, a in rows.values() if cust == c]
        lines.append(f"{c},{len(picked)},{sum(picked)}")
    return lines


def binary_answers(pg):
    with pg.connect() as conn:
        cur = conn.cursor(binary=True)
        cur.execute("SELECT count(*), sum(amount) FROM orders WHERE customer = %b AND placed >= %b AND amount > %b",
                    (7, BASE_TS + dt.timedelta(days=10), Decimal("100.00")))
        filtered = cur.fetchone()
        cur.execute("SELECT id, customer, amount, placed, note FROM orders WHERE id IN (%b, %b, %b) ORDER BY id",
                    (10, 150_001, 200_500))
        picked = cur.fetchall()
    return filtered, picked


def expected_binary(rows):
    since = BASE_TS + dt.timedelta(days=10)
    matching = [i for i, (c, a) in rows.items()
                if c == 7 and a > Decimal("100.00") and i <= ROWS and BASE_TS + dt.timedelta(seconds=i * 13) >= since]
    # Rows added by the upsert have placed = the upsert time (after `since`).
    matching += [i for i, (c, a) in rows.items() if i > ROWS and c == 7 and a > Decimal("100.00")]
    filtered = (len(matching), sum((rows[i][1] for i in matching), Decimal("0.00")) if matching else None)
    return filtered


@pytest.mark.timeout_s(300)
def test_done_when(pg, tmp_path):
    csv_path = tmp_path / "orders.csv"
    write_csv(csv_path)
    pg.psql("-c", "CREATE TABLE orders (id bigint PRIMARY KEY, customer integer NOT NULL, "
                  "amount numeric(12,2), placed timestamptz, note text)")
    out = pg.psql("-c", f"\\copy orders FROM '{csv_path}' WITH (FORMAT csv, HEADER true)")
    assert out.stdout.strip() == f"COPY {ROWS}", out.stdout

    rows = expected_model()
    notes = ROWS - ROWS // 10
    assert psql_answers(pg) == expected_psql(rows, notes)

    pg.psql("-c", f"INSERT INTO orders (id, customer, amount, placed, note) "
                  f"SELECT i, 7, 2.50, TIMESTAMPTZ '2025-01-01 00:00:00+00', 'upserted' "
                  f"FROM generate_series({UPSERT_FROM}, {UPSERT_TO}) AS g(i) "
                  f"ON CONFLICT (id) DO UPDATE SET amount = orders.amount + 1.00")
    apply_upsert(rows)
    notes += UPSERT_TO - ROWS
    want_psql = expected_psql(rows, notes)
    assert psql_answers(pg) == want_psql

    filtered, picked = binary_answers(pg)
    assert filtered == expected_binary(rows)
    assert [(r[0], r[1], r[2], r[4]) for r in picked] == [
        (10, 10, amount_of(10), None),
        (150_001, 1, amount_of(150_001), "order 150001"),
        (200_500, 7, Decimal("2.50"), "upserted")]
    assert picked[1][3] == BASE_TS + dt.timedelta(seconds=150_001 * 13)

    if not pg.is_strata:
        return
    for hard in (True, True, False):
        pg.restart(hard=hard)
        assert psql_answers(pg) == want_psql, f"after {'kill -9' if hard else 'SIGTERM'} and restart"
        assert binary_answers(pg) == (filtered, picked)
    # And it still takes writes.
    pg.psql("-c", "INSERT INTO orders VALUES (300000, 1, 1.00, NULL, NULL)")
    with pg.connect() as conn:
        assert conn.execute("SELECT count(*) FROM orders").fetchone() == (len(rows) + 1,)
