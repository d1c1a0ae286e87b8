"""asyncpg (python3-asyncpg) against the real binary, unchanged: it speaks
only the extended protocol with binary parameters and results, runs nested
transactions as savepoints, reads cursors through portals and loads rows with
COPY BINARY. Runs against a real PostgreSQL too (STRATA_TEST_PG)."""

import asyncio
import datetime as dt
import io
import json
from decimal import Decimal

import asyncpg
import pytest

from pg_wire import pg  # noqa: F401  (fixture)

UTC = dt.timezone.utc

DDL = """CREATE TABLE ap_items (
  id bigint PRIMARY KEY, name text NOT NULL, qty integer, small smallint, price numeric(12,2),
  ratio double precision, ok boolean, day date, seen timestamp, at_tz timestamptz, raw bytea, doc json)"""

ROWS = [
    (1, "apple", 3, 1, Decimal("1.25"), 0.5, True, dt.date(2024, 2, 29), dt.datetime(2024, 2, 29, 1, 2, 3, 4),
     dt.datetime(2024, 2, 29, 12, 0, tzinfo=UTC), b"\x00\xff", '{"k": [1, 2]}'),
    (2, "pear", None, None, None, None, None, None, None, None, None, None),
    (3, "fig", -7, -32768, Decimal("-0.01"), -1e300, False, dt.date(1970, 1, 1), dt.datetime(1969, 12, 31, 23, 59, 59),
     dt.datetime(1999, 12, 31, 23, tzinfo=dt.timezone(dt.timedelta(hours=-2))), b"", "[]"),
]


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


async def connect(pg):
    return await asyncpg.connect(host=pg.host, port=pg.port, user=pg.user, database=pg.dbname)


def normalized(record):
    return tuple(v.astimezone(UTC) if isinstance(v, dt.datetime) and v.tzinfo else v for v in record)


def test_types_round_trip_through_binary_parameters_and_results(pg):
    async def body():
        conn = await connect(pg)
        try:
            await conn.execute(DDL)
            await conn.executemany("INSERT INTO ap_items VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)", ROWS)
            got = await conn.fetch("SELECT * FROM ap_items ORDER BY id")
            assert [normalized(r) for r in got] == [normalized(r) for r in ROWS]
            one = await conn.fetchrow("SELECT name, price FROM ap_items WHERE id = $1", 1)
            assert one["name"] == "apple" and one["price"] == Decimal("1.25")
            assert await conn.fetchval("SELECT count(*) FROM ap_items WHERE qty > $1", -10) == 2
            assert await conn.fetchval("SELECT $1::bigint + 1", 41) == 42
        finally:
            await conn.close()
    run(body())


def test_prepared_statements_and_cursors(pg):
    async def body():
        conn = await connect(pg)
        try:
            await conn.execute("CREATE TABLE ap_seq (n integer PRIMARY KEY, sq bigint)")
            await conn.executemany("INSERT INTO ap_seq VALUES ($1, $2)", [(n, n * n) for n in range(1, 101)])
            stmt = await conn.prepare("SELECT sq FROM ap_seq WHERE n = $1")
            assert [await stmt.fetchval(n) for n in (2, 9, 100)] == [4, 81, 10000]
            async with conn.transaction():
                cur = await conn.cursor("SELECT n FROM ap_seq ORDER BY n")
                assert [r["n"] for r in await cur.fetch(3)] == [1, 2, 3]
                await cur.forward(10)
                assert (await cur.fetchrow())["n"] == 14
                seen = [r["n"] async for r in conn.cursor("SELECT n FROM ap_seq WHERE n > $1 ORDER BY n", 95, prefetch=2)]
                assert seen == [96, 97, 98, 99, 100]
        finally:
            await conn.close()
    run(body())


def test_nested_transactions_are_savepoints(pg):
    async def body():
        conn = await connect(pg)
        try:
            await conn.execute("CREATE TABLE ap_tx (id integer PRIMARY KEY, v text)")
            async with conn.transaction():
                await conn.execute("INSERT INTO ap_tx VALUES (1, 'kept')")
                with pytest.raises(asyncpg.UniqueViolationError):
                    async with conn.transaction():
                        await conn.execute("INSERT INTO ap_tx VALUES (2, 'undone')")
                        await conn.execute("INSERT INTO ap_tx VALUES (1, 'twice')")
                await conn.execute("INSERT INTO ap_tx VALUES (3, 'after')")
            assert await conn.fetch("SELECT id, v FROM ap_tx ORDER BY id") == [(1, "kept"), (3, "after")]
            with pytest.raises(RuntimeError):
                async with conn.transaction():
                    await conn.execute("INSERT INTO ap_tx VALUES (4, 'rolled back')")
                    raise RuntimeError("abort the block")
            assert await conn.fetchval("SELECT count(*) FROM ap_tx") == 2
        finally:
            await conn.close()
    run(body())


def test_copy_records_to_table_and_copy_out(pg):
    async def body():
        conn = await connect(pg)
        try:
            await conn.execute(DDL)
            records = [r for r in ROWS] + [(10 + i, f"bulk{i}", i, None, Decimal(i) / 4, None, None, None, None, None,
                                            None, json.dumps({"i": i})) for i in range(500)]
            status = await conn.copy_records_to_table("ap_items", records=records)
            assert status == f"COPY {len(records)}"
            status = await conn.copy_records_to_table("ap_items", records=[(9000, "only two")], columns=["id", "name"])
            assert status == "COPY 1"
            assert await conn.fetchval("SELECT count(*) FROM ap_items") == len(records) + 1
            assert await conn.fetchval("SELECT sum(price) FROM ap_items WHERE id >= 10") == Decimal(sum(range(500))) / 4
            got = await conn.fetch("SELECT * FROM ap_items WHERE id < 10 ORDER BY id")
            assert [normalized(r) for r in got] == [normalized(r) for r in ROWS]
            out = io.BytesIO()
            await conn.copy_from_query("SELECT id, name FROM ap_items WHERE id < 4 ORDER BY id", output=out, format="csv")
            assert out.getvalue() == b"1,apple\n2,pear\n3,fig\n"
            with pytest.raises(asyncpg.UniqueViolationError):
                await conn.copy_records_to_table("ap_items", records=[(1, "again")], columns=["id", "name"])
            assert await conn.fetchval("SELECT name FROM ap_items WHERE id = 1") == "apple"
        finally:
            await conn.close()
    run(body())


def test_pool_and_errors(pg):
    async def body():
        pool = await asyncpg.create_pool(host=pg.host, port=pg.port, user=pg.user, database=pg.dbname,
                                         min_size=2, max_size=4)
        try:
            async with pool.acquire() as conn:
                await conn.execute("CREATE TABLE ap_pool (id integer PRIMARY KEY, hits bigint NOT NULL)")
                await conn.execute("INSERT INTO ap_pool VALUES (1, 0)")

            async def hit():
                async with pool.acquire() as conn:
                    await conn.execute("UPDATE ap_pool SET hits = hits + 1 WHERE id = $1", 1)
            await asyncio.gather(*(hit() for _ in range(40)))
            assert await pool.fetchval("SELECT hits FROM ap_pool WHERE id = 1") == 40
            with pytest.raises(asyncpg.UndefinedTableError):
                await pool.fetch("SELECT * FROM ap_missing")
            with pytest.raises(asyncpg.NotNullViolationError):
                await pool.execute("INSERT INTO ap_pool VALUES (2, NULL)")
            with pytest.raises(asyncpg.PostgresSyntaxError):
                await pool.execute("SELEC 1")
            assert await pool.fetchval("SELECT 1") == 1
        finally:
            await pool.close()
    run(body())
