"""Fixtures: a private MariaDB (scripts/mariadb.sh, its own data dir and port)
and the real service, started as a subprocess and tested over HTTP."""
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pymysql
import pytest

SERVICE_DIR = Path(__file__).resolve().parents[1]
ROOT = SERVICE_DIR.parent
CONTRACTS = ROOT / "contracts"
MARIADB_SCRIPT = ROOT / "scripts/mariadb.sh"


# The Makefile runs this under scripts/with-env.sh: the project's configuration is in the environment.
ENV = dict(os.environ)
DB_ENV = dict(ENV, MARIADB_DIR=f"{ENV['RUN_DIR']}/test-route1-mariadb",
              DB_PORT=os.environ.get("TEST_ROUTE1_DB_PORT", "3318"), DB_HOST="127.0.0.1")


class Database:
    def __init__(self, env):
        self.env = env

    def script(self, *args, stdin=None):
        return subprocess.run([str(MARIADB_SCRIPT), *args], input=stdin, env=self.env, text=True,
                              capture_output=True, check=True).stdout

    def admin_sql(self, statement, database=None):
        """SQL as the server's root user (through scripts/mariadb.sh), TSV out."""
        env = self.env if database is None else dict(self.env, DB_NAME=database)
        return subprocess.run([str(MARIADB_SCRIPT), "sql"], input=statement, env=env, text=True,
                              capture_output=True, check=True).stdout

    def sql(self, statement):
        """One statement as the service's user; the rows it returns."""
        with pymysql.connect(host="127.0.0.1", port=int(self.env["DB_PORT"]), user=self.env["DB_USER"],
                             password=self.env["DB_PASSWORD"], database=self.env["DB_NAME"],
                             autocommit=True, connect_timeout=5) as connection:
            with connection.cursor() as cursor:
                cursor.execute(statement)
                return cursor.fetchall()

    def count(self, where="1=1"):
        return self.sql(f"SELECT COUNT(*) FROM metric_records WHERE {where}")[0][0]


@pytest.fixture(scope="session")
def database():
    db = Database(DB_ENV)
    db.script("up")
    db.admin_sql("DELETE FROM metric_records;")  # the routes' user may not delete
    yield db
    db.script("down")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Service:
    """The route as deployed: `python -m route1`, configured by env only."""

    def __init__(self, extra_env=None, name="route1"):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(ENV["RUN_DIR"]) / f"test-{name}.log"
        env = {key: DB_ENV[key] for key in ("PATH", "DB_HOST", "DB_PORT", "DB_USER", "DB_PASSWORD", "DB_NAME",
                                            "INGEST_TOKEN")}
        # debug: the access lines too must hold no record contents.
        env.update(PORT=str(self.port), LOG_LEVEL="debug", **(extra_env or {}))
        self.log_file = open(self.log_path, "w")
        self.process = subprocess.Popen([sys.executable, "-m", "route1"], cwd=SERVICE_DIR, env=env,
                                        stdout=self.log_file, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log_path.read_text()
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError(f"route1 did not start: {self.log_path.read_text()}")

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log_file.close()


class Client(httpx.Client):
    """Every response of the route must say which route answered. Requests carry the
    deployment's bearer token unless a test sets its own Authorization."""

    def __init__(self, **kwargs):
        super().__init__(headers={"Authorization": f"Bearer {ENV['INGEST_TOKEN']}"}, **kwargs)

    def request(self, *args, **kwargs):
        response = super().request(*args, **kwargs)
        assert response.headers.get("x-route") == "python", (response.status_code, response.headers)
        return response

    def post_json(self, body, **kwargs):
        return self.post("/api/metrics", content=json.dumps(body),
                         headers={"Content-Type": "application/json"}, **kwargs)


@pytest.fixture(scope="session")
def service(database):
    running = Service()
    yield running
    running.stop()


@pytest.fixture(scope="session")
def client(service):
    with Client(base_url=service.url, timeout=10) as http:
        yield http


def example(name):
    return json.loads((CONTRACTS / "examples" / name).read_text())
