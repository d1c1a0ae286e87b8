"""SQLAlchemy 1.4 (Debian's python3-sqlalchemy, psycopg2 dialect), unchanged,
against Strata: create_all / drop_all, the ORM's add, query, update and
delete, and reflection with inspect(). Its catalog queries (pg_class,
pg_attribute, pg_attrdef, pg_sequence, regclass casts, format_type,
pg_get_serial_sequence, json_build_object) run through the SQL engine over
Strata's catalog; none is recognised by its text. Runs against a real
PostgreSQL too (STRATA_TEST_PG)."""

import sqlalchemy as sa
from sqlalchemy.orm import Session, declarative_base

from pg_wire import pg  # noqa: F401  (fixture)


def engine_for(pg):
    return sa.create_engine(f"postgresql+psycopg2://{pg.user}@{pg.host}:{pg.port}/{pg.dbname}")


def models():
    base = declarative_base()

    class Author(base):
        __tablename__ = "sa_authors"
        id = sa.Column(sa.Integer, primary_key=True)
        name = sa.Column(sa.String(50), nullable=False)
        joined = sa.Column(sa.DateTime(timezone=True), server_default=sa.func.now())
        score = sa.Column(sa.Numeric(10, 2))

    return base, Author


def test_create_all_and_the_orm(pg):
    base, Author = models()
    engine = engine_for(pg)
    base.metadata.drop_all(engine)
    base.metadata.create_all(engine)
    assert sa.inspect(engine).has_table("sa_authors")
    with Session(engine) as s:
        s.add_all([Author(name="ann", score=1.5), Author(name="bob")])
        s.commit()
        rows = [(a.id, a.name) for a in s.query(Author).order_by(Author.id)]
        assert rows == [(1, "ann"), (2, "bob")]
        assert s.get(Author, 1).joined is not None
        s.get(Author, 1).name = "ANN"
        s.commit()
        s.delete(s.get(Author, 2))
        s.commit()
        assert [(a.id, a.name) for a in s.query(Author).order_by(Author.id)] == [(1, "ANN")]
        s.add(Author(name="cy"))
        s.commit()
        assert s.query(Author).filter(Author.name == "cy").one().id == 3
    base.metadata.drop_all(engine)
    assert not sa.inspect(engine).has_table("sa_authors")
    engine.dispose()


def test_reflection_with_inspect(pg):
    base, _ = models()
    engine = engine_for(pg)
    base.metadata.drop_all(engine)
    base.metadata.create_all(engine)
    inspector = sa.inspect(engine)
    assert "sa_authors" in inspector.get_table_names()
    columns = {c["name"]: c for c in inspector.get_columns("sa_authors")}
    assert list(columns) == ["id", "name", "joined", "score"]
    assert isinstance(columns["id"]["type"], sa.Integer)
    assert columns["id"]["autoincrement"] is True
    assert columns["id"]["default"] == "nextval('sa_authors_id_seq'::regclass)"
    assert columns["id"]["nullable"] is False
    assert isinstance(columns["name"]["type"], sa.String)
    assert columns["name"]["nullable"] is False
    assert isinstance(columns["joined"]["type"], sa.DateTime) and columns["joined"]["type"].timezone
    assert columns["joined"]["default"] == "now()"
    assert isinstance(columns["score"]["type"], sa.Numeric)
    assert (columns["score"]["type"].precision, columns["score"]["type"].scale) == (10, 2)
    base.metadata.drop_all(engine)
    engine.dispose()


def test_reflection_of_keys_and_indexes(pg):
    """Table(..., autoload_with=) reads the primary key from pg_index and
    pg_constraint, and the indexes with a join on `attnum = ANY(indkey)`."""
    engine = engine_for(pg)
    with engine.begin() as c:
        c.exec_driver_sql("DROP TABLE IF EXISTS sa_keyed")
        c.exec_driver_sql("CREATE TABLE sa_keyed (tenant text, n int, v int, PRIMARY KEY (tenant, n))")
    inspector = sa.inspect(engine)
    assert inspector.get_pk_constraint("sa_keyed") == {"constrained_columns": ["tenant", "n"],
                                                      "name": "sa_keyed_pkey"}
    assert inspector.get_indexes("sa_keyed") == []
    assert inspector.get_unique_constraints("sa_keyed") == []
    assert inspector.get_foreign_keys("sa_keyed") == []
    table = sa.Table("sa_keyed", sa.MetaData(), autoload_with=engine)
    assert [c.name for c in table.primary_key] == ["tenant", "n"]
    with engine.begin() as c:
        c.execute(table.insert(), [{"tenant": "a", "n": 1, "v": 10}, {"tenant": "a", "n": 2, "v": 20}])
        assert c.execute(sa.select(table.c.v).where(table.c.tenant == "a", table.c.n == 2)).scalar_one() == 20
    with engine.begin() as c:
        c.exec_driver_sql("DROP TABLE sa_keyed")
    engine.dispose()
