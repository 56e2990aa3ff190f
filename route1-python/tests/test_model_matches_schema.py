"""The ORM mapping against the tests' database, whose table scripts/mariadb.sh built with
`alembic upgrade head`: the column-by-column view of what `alembic check` compares
(tests/test_migrations.py), so that a failure names the column."""
import re

import pytest
from sqlalchemy.dialects import mysql

from route1.models import MetricRecord

DIALECT = mysql.dialect()


@pytest.fixture(scope="module")
def schema_columns(database):
    rows = database.admin_sql(
        "SELECT column_name, column_type, is_nullable, IFNULL(character_set_name, ''),"
        " IFNULL(collation_name, ''), IFNULL(column_default, ''), extra, column_key"
        " FROM information_schema.columns WHERE table_schema = DATABASE()"
        " AND table_name = 'metric_records' ORDER BY ordinal_position;\n")
    return [line.split("\t") for line in rows.strip().splitlines()]


def normalised_type(text):
    text = text.lower().replace(", ", ",").replace("\"", "'")
    # Integer display widths ("int(10) unsigned") are cosmetic in MariaDB.
    text = re.sub(r"\b(tinyint|smallint|mediumint|int|bigint)\(\d+\)", r"\1", text)
    text = re.sub(r"\bdatetime\(fsp=(\d+)\)", r"datetime(\1)", text)
    return re.sub(r" character set \w+| collate \w+", "", text).replace("integer", "int")


def test_same_columns_in_the_same_order(schema_columns):
    assert [c.name for c in MetricRecord.__table__.columns] == [row[0] for row in schema_columns]


def test_same_types_nullability_and_character_sets(schema_columns):
    model = {c.name: c for c in MetricRecord.__table__.columns}
    for name, column_type, nullable, charset, collation, _default, _extra, _key in schema_columns:
        column = model[name]
        assert normalised_type(column.type.compile(dialect=DIALECT)) == normalised_type(column_type), name
        assert column.nullable == (nullable == "YES"), name
        if charset:
            assert (getattr(column.type, "charset", None) or "utf8mb4") == charset, name
            assert (getattr(column.type, "collation", None) or "utf8mb4_unicode_ci") == collation, name


def test_same_key_and_defaults(schema_columns):
    by_name = {row[0]: row for row in schema_columns}
    primary = [c.name for c in MetricRecord.__table__.primary_key.columns]
    assert primary == [name for name, row in by_name.items() if row[7] == "PRI"] == ["id"]
    assert "auto_increment" in by_name["id"][6] and MetricRecord.__table__.c.id.autoincrement
    # The unique key that decides duplicates is on record_id.
    assert by_name["record_id"][7] == "UNI"
    received_default = MetricRecord.__table__.c.received_at.server_default.arg.text
    assert by_name["received_at"][5].lower() == received_default.lower()


def test_the_normalisation_still_tells_types_apart():
    assert normalised_type("INTEGER UNSIGNED") == "int unsigned" != normalised_type("BIGINT UNSIGNED")
    assert normalised_type("DECIMAL(5, 2)") == "decimal(5,2)" != normalised_type("DECIMAL(6, 2)")
