"""The table as `scripts/mariadb.sh up` builds it (route 1's migrations) on a real MariaDB,
in an instance of its own (own data dir and port) so that stopping it disturbs no one."""
import os
import subprocess
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MARIADB = ROOT / "scripts/mariadb.sh"
ENV = dict(os.environ,
           MARIADB_DIR=f"{os.environ['RUN_DIR']}/test-route1-table-mariadb",
           DB_PORT=os.environ["TEST_ROUTE1_TABLE_DB_PORT"],  # scripts/test-ports.sh, through with-env.sh
           DB_NAME="table_test",
           DB_USER="table_app",
           DB_MIGRATE_USER="table_migrate",
           DB_READ_USER="table_read",
           MARIADB_CLIENT_HOSTS="127.0.0.1 localhost 10.99.%")


def mariadb(*args, stdin=None):
    return subprocess.run([str(MARIADB), *args], input=stdin, env=ENV, text=True,
                          capture_output=True, check=True).stdout


@pytest.fixture(scope="module")
def table_database():
    mariadb("up")
    yield
    mariadb("down")


def table_definition():
    return mariadb("sql", stdin="SHOW CREATE TABLE metric_records;\n")


def test_up_again_changes_nothing(table_database):
    before = table_definition()
    mariadb("up")
    mariadb("migrate")
    assert table_definition() == before
    assert "UNIQUE KEY `uq_metric_records_record_id`" in before
    assert mariadb("sql", stdin="SELECT version_num FROM alembic_version;\n").split() == ["0001"]


def test_columns_have_proper_types(table_database):
    columns = mariadb("sql", stdin=(
        "SELECT column_name, column_type FROM information_schema.columns "
        "WHERE table_schema = DATABASE() AND table_name = 'metric_records';\n"))
    types = dict(line.split("\t") for line in columns.strip().splitlines())
    for pct in ("porcentaje_ram", "porcentaje_cpu_uso", "porcentaje_cpu_libre"):
        assert types[pct] == "decimal(5,2)"
    assert types["ram_libre"].startswith("bigint")
    assert types["hora"] == "datetime"
    assert types["received_at"] == "datetime(3)"
    assert not any(t.startswith("varchar") for t in types.values())


def test_a_row_survives_down_and_up(table_database):
    mariadb("sql", stdin=(
        "INSERT INTO metric_records (record_id, route, total_ram, ram_libre, uso_ram, porcentaje_ram,"
        " porcentaje_cpu_uso, porcentaje_cpu_libre, procesos_corriendo, total_procesos,"
        " procesos_durmiendo, procesos_zombie, procesos_parados, hora) VALUES"
        " (UUID(), 'python', 2072, 110477312, 1530, 73.84, 22, 78, 3, 233, 226, 2, 2,"
        " '2025-10-17 02:21:54');\n"))
    before = mariadb("sql", stdin="SELECT COUNT(*), MAX(id) FROM metric_records;\n")
    mariadb("down")
    assert subprocess.run([str(MARIADB), "status"], env=ENV, capture_output=True).returncode != 0
    mariadb("up")
    assert mariadb("sql", stdin="SELECT COUNT(*), MAX(id) FROM metric_records;\n") == before
    assert int(before.split("\t")[0]) >= 1


def test_the_same_record_id_is_refused_by_the_unique_key(table_database):
    insert = ("INSERT INTO metric_records (record_id, route, total_ram, ram_libre, uso_ram,"
              " porcentaje_ram, porcentaje_cpu_uso, porcentaje_cpu_libre, procesos_corriendo,"
              " total_procesos, procesos_durmiendo, procesos_zombie, procesos_parados, hora)"
              " VALUES ('{id}', 'node', 1, 1, 1, 1, 1, 99, 1, 1, 0, 0, 0, '2025-10-17 02:21:54');\n")
    record_id = str(uuid.uuid4())
    mariadb("sql", stdin=insert.format(id=record_id))
    with pytest.raises(subprocess.CalledProcessError) as refused:
        mariadb("sql", stdin=insert.format(id=record_id.upper()))
    assert "Duplicate entry" in refused.value.stderr


def test_every_user_exists_for_every_client_host(table_database):
    for user in (ENV["DB_USER"], ENV["DB_READ_USER"], ENV["DB_MIGRATE_USER"]):
        hosts = mariadb("sql", stdin=f"SELECT host FROM mysql.user WHERE user = '{user}' ORDER BY host;\n")
        assert hosts.split() == ["10.99.%", "127.0.0.1", "localhost"], user


def test_the_routes_user_may_select_and_insert_ws_servers_select_and_the_migrations_user_ddl(table_database):
    def privileges(user):
        rows = mariadb("sql", stdin=(
            "SELECT privilege_type FROM information_schema.schema_privileges"
            f" WHERE grantee = \"'{user}'@'127.0.0.1'\" AND table_schema = '{ENV['DB_NAME']}';\n"))
        return set(rows.split())
    assert privileges(ENV["DB_USER"]) == {"SELECT", "INSERT"}
    assert privileges(ENV["DB_READ_USER"]) == {"SELECT"}
    assert privileges(ENV["DB_MIGRATE_USER"]) == {"SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "ALTER",
                                                  "INDEX", "DROP", "REFERENCES"}


def as_routes_user(statement):
    """The statement over TCP as the routes' user; the password in the client's environment."""
    return subprocess.run(["mariadb", "--no-defaults", "-h", "127.0.0.1", "-P", ENV["DB_PORT"], "-u", ENV["DB_USER"],
                           ENV["DB_NAME"], "-e", statement], env=dict(ENV, MYSQL_PWD=ENV["DB_PASSWORD"]),
                          capture_output=True, text=True)


def test_the_routes_user_cannot_change_or_remove_a_record_and_up_takes_back_older_grants(table_database):
    record_id = str(uuid.uuid4())
    stored = as_routes_user(
        "INSERT INTO metric_records (record_id, route, total_ram, ram_libre, uso_ram, porcentaje_ram,"
        " porcentaje_cpu_uso, porcentaje_cpu_libre, procesos_corriendo, total_procesos, procesos_durmiendo,"
        f" procesos_zombie, procesos_parados, hora) VALUES ('{record_id}', 'python', 1, 1, 0, 0, 0, 100,"
        " 1, 1, 0, 0, 0, '2026-12-03 09:00:00')")
    assert stored.returncode == 0, stored.stderr
    for statement in (f"UPDATE metric_records SET total_ram = 2 WHERE record_id = '{record_id}'",
                      f"DELETE FROM metric_records WHERE record_id = '{record_id}'",
                      "TRUNCATE TABLE metric_records"):
        refused = as_routes_user(statement)
        assert refused.returncode != 0 and "command denied" in refused.stderr, (statement, refused.stderr)
    assert mariadb("sql", stdin=f"SELECT total_ram FROM metric_records WHERE record_id = '{record_id}';\n").strip() == "1"
    # A data dir provisioned by an older version (the routes' user had UPDATE and DELETE).
    mariadb("sql", stdin=f"GRANT UPDATE, DELETE ON `{ENV['DB_NAME']}`.* TO '{ENV['DB_USER']}'@'127.0.0.1';\n")
    mariadb("up")
    assert "command denied" in as_routes_user(f"DELETE FROM metric_records WHERE record_id = '{record_id}'").stderr


def test_a_bad_client_host_is_refused_and_changes_nothing(table_database):
    bad = subprocess.run([str(MARIADB), "up"], env=dict(ENV, MARIADB_CLIENT_HOSTS="x'; DROP TABLE t; --"),
                         capture_output=True, text=True)
    assert bad.returncode != 0
    assert "MARIADB_CLIENT_HOSTS" in bad.stderr
    assert "metric_records" in mariadb("sql", stdin="SHOW TABLES;\n")
