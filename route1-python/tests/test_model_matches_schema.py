"""The ORM mapping against a database built from contracts/schema.sql, so that
a change on either side without the other fails here."""
import re

import pytest
from sqlalchemy.dialects import mysql

from conftest import CONTRACTS
from route1.models import MetricRecord

CHECK_DB = "route1_schema_check"
DIALECT = mysql.dialect()


@pytest.fixture(scope="module")
def schema_columns(database):
    database.admin_sql(f"DROP DATABASE IF EXISTS {CHECK_DB}; CREATE DATABASE {CHECK_DB};")
    database.admin_sql((CONTRACTS / "schema.sql").read_text(), database=CHECK_DB)
    rows = database.admin_sql(
        "SELECT column_name, column_type, is_nullable, IFNULL(character_set_name, ''),"
        " IFNULL(collation_name, ''), IFNULL(column_default, ''), extra, column_key"
        f" FROM information_schema.columns WHERE table_schema = '{CHECK_DB}'"
        " AND table_name = 'metric_records' ORDER BY ordinal_position;\n")
    yield [line.split("\t") for line in rows.strip().splitlines()]
    database.admin_sql(f"DROP DATABASE {CHECK_DB};")


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
