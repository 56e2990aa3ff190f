"""The migrations are the table's definition: generated from route1/models.py and
checked here, on fresh databases of the tests' private MariaDB, against both sides.

- model == migrations: `alembic check` (autogenerate's comparison of the model with
  the migrated database) finds no difference, and does find one when a column drifts.
- migrations == the table databases already have: `alembic upgrade head` builds exactly
  the table scripts/mariadb.sh built before there were migrations
  (tests/fixtures/table-before-migrations.sql; information_schema's columns, keys and
  table options, and SHOW CREATE TABLE), and adopts a database that has it.

Alembic runs as the deployment runs it: `alembic` in this folder, the database from
DB_* in its environment. The DDL is run as the server's root user over its Unix
socket (DB_MIGRATE_USER, DB_SOCKET); `alembic check` as the service's own user over
TCP with its password from DB_PASSWORD, which has only SELECT on these databases."""
import re
import subprocess
import sys

import pytest

from conftest import DB_ENV, SERVICE_DIR

MIGRATED = "route1_migrated"
BEFORE = "route1_before_migrations"
SCRATCH = "route1_migrations_scratch"
SOCKET = f"{DB_ENV['MARIADB_DIR']}/mysqld.sock"
TABLE_BEFORE_MIGRATIONS = (SERVICE_DIR / "tests/fixtures/table-before-migrations.sql").read_text()

COLUMNS = ("SELECT ordinal_position, column_name, column_type, is_nullable, IFNULL(column_default, 'NULL'),"
           " IFNULL(character_set_name, ''), IFNULL(collation_name, ''), extra, column_key, column_comment"
           " FROM information_schema.columns WHERE table_schema = '{db}' AND table_name = 'metric_records'"
           " ORDER BY ordinal_position;")
KEYS = ("SELECT index_name, non_unique, seq_in_index, column_name, IFNULL(sub_part, ''), index_type, collation"
        " FROM information_schema.statistics WHERE table_schema = '{db}' AND table_name = 'metric_records'"
        " ORDER BY index_name, seq_in_index;")
TABLE = ("SELECT engine, table_collation, row_format, table_comment, IFNULL(create_options, '')"
         " FROM information_schema.tables WHERE table_schema = '{db}' AND table_name = 'metric_records';")


def alembic(*args, database, as_root=True, check=True):
    """`alembic ARGS` on DATABASE, configured by the environment only."""
    env = {key: DB_ENV[key] for key in ("PATH", "DB_HOST", "DB_PORT", "DB_USER", "DB_PASSWORD")}
    env["DB_NAME"] = database
    if as_root:
        env.update(DB_MIGRATE_USER="root", DB_SOCKET=SOCKET)
    result = subprocess.run([sys.executable, "-m", "alembic", *args], cwd=SERVICE_DIR, env=env, text=True,
                            capture_output=True, timeout=60)
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def fresh(database_fixture, name):
    user = DB_ENV["DB_USER"]
    database_fixture.admin_sql(
        f"DROP DATABASE IF EXISTS {name}; CREATE DATABASE {name};"
        f" GRANT SELECT ON {name}.* TO '{user}'@'127.0.0.1';")


def describe(database_fixture, name):
    rows = {}
    for label, query in (("columns", COLUMNS), ("keys", KEYS), ("table", TABLE)):
        rows[label] = [line.split("\t") for line in database_fixture.admin_sql(query.format(db=name)).splitlines()]
    create = database_fixture.admin_sql("SHOW CREATE TABLE metric_records;", database=name).split("\t", 1)[1]
    # The counter is data, not schema.
    rows["create"] = re.sub(r" AUTO_INCREMENT=\d+", "", create.replace("\\n", "\n")).strip()
    return rows


@pytest.fixture(scope="module")
def built(database):
    """The table twice: by `alembic upgrade head` and as it was before the migrations."""
    fresh(database, MIGRATED)
    fresh(database, BEFORE)
    upgrade = alembic("upgrade", "head", database=MIGRATED)
    database.admin_sql(TABLE_BEFORE_MIGRATIONS, database=BEFORE)
    yield {"upgrade": upgrade, MIGRATED: describe(database, MIGRATED), BEFORE: describe(database, BEFORE)}
    database.admin_sql(f"DROP DATABASE {MIGRATED}; DROP DATABASE {BEFORE}; DROP DATABASE IF EXISTS {SCRATCH};")


def test_upgrade_head_runs_every_migration(built, database):
    assert "Running upgrade  -> 0001" in built["upgrade"].stderr, built["upgrade"].stderr
    assert database.admin_sql("SELECT version_num FROM alembic_version;", database=MIGRATED).split() == ["0001"]
    assert alembic("heads", database=MIGRATED).stdout.split()[0] == "0001"


@pytest.mark.parametrize("part", ["columns", "keys", "table"])
def test_migrations_build_the_table_databases_already_have(built, part):
    migrated, before = built[MIGRATED][part], built[BEFORE][part]
    assert migrated, f"no {part} for metric_records"
    assert migrated == before, "alembic upgrade head builds another table than existing databases have"


def test_show_create_table_is_the_same(built):
    assert built[MIGRATED]["create"] == built[BEFORE]["create"]


def test_the_model_equals_the_migrations(built):
    """autogenerate's comparison, as the service's user over TCP: nothing to generate."""
    result = alembic("check", database=MIGRATED, as_root=False)
    assert "No new upgrade operations detected" in result.stdout + result.stderr


def test_a_drifted_column_is_reported(built, database):
    """The check above is not vacuous: a column's type changed under the model fails it."""
    fresh(database, SCRATCH)
    alembic("upgrade", "head", database=SCRATCH)
    database.admin_sql("ALTER TABLE metric_records MODIFY total_ram BIGINT UNSIGNED NOT NULL COMMENT 'MiB';",
                       database=SCRATCH)
    result = alembic("check", database=SCRATCH, as_root=False, check=False)
    assert result.returncode != 0
    assert "modify_type" in result.stderr and "total_ram" in result.stderr, result.stderr
    assert describe(database, SCRATCH)["columns"] != built[BEFORE]["columns"]


def test_a_table_built_before_the_migrations_is_adopted(built, database):
    """A database whose table scripts/mariadb.sh built before the migrations: upgrade head
    records the revision and leaves the table as it was."""
    fresh(database, SCRATCH)
    database.admin_sql(TABLE_BEFORE_MIGRATIONS, database=SCRATCH)
    alembic("upgrade", "head", database=SCRATCH)
    assert describe(database, SCRATCH) == built[BEFORE]
    alembic("check", database=SCRATCH, as_root=False)


def test_downgrade_to_base_drops_the_table(built, database):
    fresh(database, SCRATCH)
    alembic("upgrade", "head", database=SCRATCH)
    alembic("downgrade", "base", database=SCRATCH)
    tables = database.admin_sql("SHOW TABLES;", database=SCRATCH).split()
    assert tables == ["alembic_version"]
    assert database.admin_sql("SELECT COUNT(*) FROM alembic_version;", database=SCRATCH).strip() == "0"
