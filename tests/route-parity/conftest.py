"""A private MariaDB and both routes, each started by its own `make run`
with only the environment (PORT, DB_*), as the local stack starts them."""
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = ROOT / "contracts"
MARIADB_SCRIPT = ROOT / "scripts/mariadb.sh"
# Generous: the first `make run` on a fresh clone builds a venv / runs npm ci.
START_TIMEOUT_S = 300


# The Makefile runs this under scripts/with-test-mariadb.sh: the project's configuration is in the environment.
ENV = dict(os.environ)
# Its private MariaDB (MARIADB_DIR, DB_HOST, DB_PORT), table empty: scripts/with-test-mariadb.sh.
DB_ENV = ENV
ROUTES = {
    "python": {"folder": "route1-python", "port": int(os.environ.get("PARITY_ROUTE1_PORT", "18011"))},
    "node": {"folder": "route2-node", "port": int(os.environ.get("PARITY_ROUTE2_PORT", "18012"))},
}


class Database:
    def sql(self, statement):
        return subprocess.run([str(MARIADB_SCRIPT), "sql"], input=statement, env=DB_ENV, text=True,
                              capture_output=True, check=True).stdout

    def count_ids(self, ids):
        if not ids:
            return 0
        quoted = ",".join(f"'{i}'" for i in ids)
        return int(self.sql(f"SELECT COUNT(*) FROM metric_records WHERE record_id IN ({quoted});\n").strip())


@pytest.fixture(scope="session")
def database():
    assert "MARIADB_DIR" in DB_ENV, "run through the Makefile: scripts/with-test-mariadb.sh starts the database"
    return Database()


class RunningRoute:
    def __init__(self, name, folder, port):
        self.name = name
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = Path(ENV["RUN_DIR"]) / f"test-parity-{name}.log"
        env = {key: DB_ENV[key] for key in ("PATH", "HOME", "DB_HOST", "DB_PORT", "DB_USER", "DB_PASSWORD",
                                            "DB_NAME", "INGEST_TOKEN") if key in DB_ENV}
        env["PORT"] = str(port)
        with socket.socket() as probe:
            # Otherwise an older instance on the port would answer in its place.
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                raise RuntimeError(f"port {port} for route {name} is already taken; stop that process first")
        self.log = open(self.log_path, "w")
        # A session of its own, so that stopping it stops make and the service.
        self.process = subprocess.Popen(["make", "-s", "-C", str(ROOT / folder), "run"], env=env,
                                        stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self):
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"route {self.name} exited: {self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"route {self.name} not ready in {START_TIMEOUT_S} s: {self.log_path}")

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


@pytest.fixture(scope="session")
def routes(database):
    running = {name: RunningRoute(name, spec["folder"], spec["port"]) for name, spec in ROUTES.items()}
    try:
        for route in running.values():
            route.wait_ready()
        clients = {name: httpx.Client(base_url=route.url, timeout=15,
                                      headers={"Authorization": f"Bearer {ENV['INGEST_TOKEN']}"})
                   for name, route in running.items()}
        yield clients
        for client in clients.values():
            client.close()
    finally:
        for route in running.values():
            route.stop()
