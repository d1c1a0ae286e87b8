"""psycopg2 (Debian's python3-psycopg2), unchanged, against Strata:
execute_values (with RETURNING), execute_batch, ANY(list), IN tuple and
RealDictCursor on a table with a serial key and defaults. Runs against a
real PostgreSQL too (STRATA_TEST_PG)."""

from decimal import Decimal

import psycopg2
import psycopg2.extras

from pg_wire import pg  # noqa: F401  (fixture)


def test_psycopg2_batches_and_parameters(pg):
    conn = psycopg2.connect(host=pg.host, port=pg.port, user=pg.user, dbname=pg.dbname)
    try:
        cur = conn.cursor()
        cur.execute("DROP TABLE IF EXISTS p2_items")
        cur.execute("CREATE TABLE p2_items (id serial PRIMARY KEY, name text NOT NULL, qty int DEFAULT 1, "
                    "price numeric(10,2))")
        psycopg2.extras.execute_values(cur, "INSERT INTO p2_items (name, qty, price) VALUES %s",
                                       [("a", 2, 1.5), ("b", 3, 2.25), ("c", 4, None)])
        conn.commit()
        ids = psycopg2.extras.execute_values(cur, "INSERT INTO p2_items (name) VALUES %s RETURNING id",
                                             [("d",), ("e",)], fetch=True)
        assert ids == [(4,), (5,)]
        psycopg2.extras.execute_batch(cur, "UPDATE p2_items SET qty = qty + %s WHERE id = %s", [(10, 1), (20, 2)])
        conn.commit()
        cur.execute("SELECT id, name, qty, price FROM p2_items ORDER BY id")
        assert cur.fetchall() == [(1, "a", 12, Decimal("1.50")), (2, "b", 23, Decimal("2.25")), (3, "c", 4, None),
                                  (4, "d", 1, None), (5, "e", 1, None)]
        cur.execute("SELECT id FROM p2_items WHERE id = ANY(%s) ORDER BY id", ([1, 3],))
        assert cur.fetchall() == [(1,), (3,)]
        with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as dict_cur:
            dict_cur.execute("SELECT name FROM p2_items WHERE name IN %s ORDER BY name", (("a", "e"),))
            assert dict_cur.fetchall() == [{"name": "a"}, {"name": "e"}]
        conn.rollback()
    finally:
        conn.close()
