"""End to end on one machine: the whole stack up (scripts/stack.sh), a short
collect and replay, then what the database and the dashboard show, a route
killed in the middle of a replay, a database outage in the middle of a replay,
and `down` leaving nothing behind.

The stack runs under its own RUN_DIR and ports (set by the Makefile), so it
never touches a developer's running stack or another component's test.
The tests run in file order and share one stack.
"""

import json
import os
import pathlib
import signal
import socket
import subprocess
import time
import uuid

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
HERE = pathlib.Path(__file__).resolve().parent
STACK = str(ROOT / "scripts/stack.sh")
MARIADB = str(ROOT / "scripts/mariadb.sh")
RUN_PHASE = str(ROOT / "locust/run-phase.sh")
PORT_VARIABLES = ("DB_PORT", "AGENT_PORT", "INGRESS_PORT", "ROUTE1_PORT", "ROUTE2_PORT", "WS_PORT", "DASHBOARD_PORT")
SERVICES = ("agent", "route1", "route2", "ingress", "ws", "dashboard")

missing = [name for name in ("RUN_DIR", *PORT_VARIABLES) if not os.environ.get(name)]
if missing:
    raise SystemExit(f"run these tests with `make -C tests/e2e test` (it sets {', '.join(missing)})")
RUN_DIR = pathlib.Path(os.environ["RUN_DIR"])
STACK_DIR = RUN_DIR / "stack"


def run(command, timeout, env=None, check=True):
    result = subprocess.run(command, cwd=ROOT, env=dict(os.environ, **(env or {})), capture_output=True,
                            text=True, timeout=timeout)
    if check and result.returncode != 0:
        pytest.fail(f"{' '.join(command)} exited {result.returncode}\n--- stdout:\n{result.stdout[-4000:]}"
                    f"\n--- stderr:\n{result.stderr[-4000:]}")
    return result


def sql(statement):
    return subprocess.run([MARIADB, "sql"], cwd=ROOT, input=statement, capture_output=True, text=True,
                          timeout=30, check=True).stdout


def rows_of(ids):
    """(rows, distinct ids, {route: rows}) in metric_records for these record ids."""
    quoted = ",".join(f"'{record_id}'" for record_id in ids)
    per_route = {}
    for line in sql(f"SELECT route, COUNT(*) FROM metric_records WHERE record_id IN ({quoted}) GROUP BY route;").splitlines():
        route, count = line.split("\t")
        per_route[route] = int(count)
    distinct = int(sql(f"SELECT COUNT(DISTINCT record_id) FROM metric_records WHERE record_id IN ({quoted});"))
    return sum(per_route.values()), distinct, per_route


def service_pids():
    pids = {}
    for name in SERVICES:
        pid_file = STACK_DIR / f"{name}.pid"
        if pid_file.exists():
            pids[name] = int(pid_file.read_text().split()[0])
    mariadb_pid = RUN_DIR / "mariadb" / "mysqld.pid"
    if mariadb_pid.exists():
        pids["mariadb"] = int(mariadb_pid.read_text().split()[0])
    return pids


def listening(port):
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", int(port))) == 0


def fresh_copies(records, count):
    """Real collected readings under new ids, for a replay of their own."""
    return [dict(records[i % len(records)], id=str(uuid.uuid4())) for i in range(count)]


def start_replay(records, name, users, **extra_env):
    records_file = RUN_DIR / f"{name}.json"
    records_file.write_text(json.dumps(records))
    env = dict(os.environ, RECORDS_FILE=str(records_file), REPLAY_SUMMARY=str(RUN_DIR / f"{name}-summary.json"),
               LOCUST_STATS_DIR=str(RUN_DIR / name), REPLAY_USERS=str(users), REPLAY_RATE=str(users),
               REPLAY_TIME_LIMIT="120s", **extra_env)
    return subprocess.Popen([RUN_PHASE, "replay"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def wait_for_rows(ids, at_least, timeout=60):
    deadline = time.monotonic() + timeout
    while rows_of(ids)[0] < at_least:
        assert time.monotonic() < deadline, f"fewer than {at_least} rows after {timeout}s"
        time.sleep(0.2)


def finish_replay(process, name):
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 0, output[-4000:]
    return json.loads((RUN_DIR / f"{name}-summary.json").read_text())


@pytest.fixture(scope="module")
def stack():
    run([STACK, "down"], timeout=120)  # leftovers of an interrupted earlier run
    try:
        run([STACK, "up"], timeout=900)
        yield
    finally:
        run([STACK, "down"], timeout=120, check=False)


@pytest.fixture(scope="module")
def collected(stack):
    """The main job with small numbers: `stack.sh load`, its replay distributed
    over a master and two workers."""
    for stale in ("records.json", "replay-summary.json", "routecompare.svg"):
        (RUN_DIR / stale).unlink(missing_ok=True)
    result = run([STACK, "load"], timeout=300, env={
        "COLLECT_USERS": "30", "COLLECT_RATE": "30", "COLLECT_TIME": "20s", "COLLECT_MAX_RECORDS": "60",
        "REPLAY_USERS": "30", "REPLAY_RATE": "30", "LOCUST_WORKERS": "2", "LOCUST_MASTER_PORT": "18557"})
    records = json.loads((RUN_DIR / "records.json").read_text())
    return records, result.stdout


def test_up_starts_every_service_and_reuses_them(stack):
    before = service_pids()
    assert set(before) == {*SERVICES, "mariadb"}
    result = run([STACK, "up"], timeout=120)
    assert service_pids() == before, "a second `up` must reuse the running services"
    assert "already running" in result.stdout
    run([STACK, "status"], timeout=60)


def test_every_record_replayed_is_stored_once_with_an_even_split(collected):
    records, output = collected
    ids = [record["id"] for record in records]
    assert len(records) == 60 and len(set(ids)) == 60
    summary = json.loads((RUN_DIR / "replay-summary.json").read_text())
    assert (summary["records"], summary["delivered"], summary["rejected"], summary["gave_up"]) == (60, 60, 0, 0)
    assert summary["workers"] == 2
    rows, distinct, per_route = rows_of(ids)
    assert rows == distinct == 60
    python_share = per_route.get("python", 0) / rows
    assert 0.40 <= python_share <= 0.60, f"split {per_route}"
    assert "records collected   60" in output and "records stored      60" in output
    comparison = [line.split() for line in output.splitlines() if line.split()[:1] in (["python"], ["node"])]
    assert len(comparison) == 4, output  # one row per route in the summary, one in routecompare's table
    assert (RUN_DIR / "routecompare.svg").read_text().lstrip().startswith("<")
    routes = summary["routes"]  # Locust's stats, by the X-Route that answered
    assert routes["python"]["requests"] >= per_route["python"] and routes["node"]["requests"] >= per_route["node"]


def test_the_dashboard_shows_the_stored_data_in_chromium(collected):
    latest_id, total_procesos = sql("SELECT id, total_procesos FROM metric_records ORDER BY id DESC LIMIT 1;").split()
    per_route = dict(line.split("\t") for line in sql(
        "SELECT route, COUNT(*) FROM metric_records GROUP BY route;").splitlines())
    expected = {"latest_id": latest_id, "total_procesos": total_procesos,
                "total": sum(int(count) for count in per_route.values()),
                "python": per_route.get("python", "0"), "node": per_route.get("node", "0")}
    result = subprocess.run(
        ["node", str(HERE / "dashboard-check.mjs"), f"http://127.0.0.1:{os.environ['DASHBOARD_PORT']}/",
         json.dumps(expected), str(RUN_DIR / "dashboard.png")],
        capture_output=True, text=True, timeout=90)
    assert result.returncode == 0, result.stderr[-3000:]


def test_a_route_killed_mid_replay_loses_nothing(collected):
    records = fresh_copies(collected[0], 60)
    ids = [record["id"] for record in records]
    replay = start_replay(records, "route-kill", users=20)
    wait_for_rows(ids, at_least=6)
    node_pid = service_pids()["route2"]
    os.killpg(node_pid, signal.SIGKILL)  # the route dies mid-request, no graceful shutdown
    time.sleep(1)  # commits the dead route had already sent may still land
    total_at_kill, _, per_route_at_kill = rows_of(ids)
    assert total_at_kill < 60, "the replay was over before the kill: nothing was tested"
    rows_at_kill = per_route_at_kill.get("node", 0)
    summary = finish_replay(replay, "route-kill")
    rows, distinct, per_route = rows_of(ids)
    assert rows == distinct == summary["delivered"] == 60, (summary, per_route)
    assert per_route.get("node", 0) == rows_at_kill, "the killed route kept storing"
    assert per_route["python"] == 60 - rows_at_kill, per_route
    run([STACK, "start", "route2"], timeout=120)


def test_a_database_outage_during_a_replay_is_retried_and_loses_nothing(collected):
    records = fresh_copies(collected[0], 40)
    ids = [record["id"] for record in records]
    access_log = STACK_DIR / "nginx" / "access.log"
    log_offset = access_log.stat().st_size

    def answers_since_the_kill():
        """(status, Retry-After) of every ingress answer logged since the database was killed."""
        with access_log.open() as log:
            log.seek(log_offset)
            return [(line.split('" ', 1)[1].split(" ", 1)[0], line.split("retry_after=", 1)[1].split(" ", 1)[0])
                    for line in log if "POST /api/metrics" in line]

    run([MARIADB, "kill"], timeout=30)
    replay = start_replay(records, "db-outage", users=20, LOCUST_BACKOFF_CAP="2")
    deadline = time.monotonic() + 60
    # Both routes stay in rotation and answer 503 themselves: wait until the replay has met ten.
    while sum(status == "503" for status, _ in answers_since_the_kill()) < 10:
        assert time.monotonic() < deadline and replay.poll() is None, "the replay never met the outage"
        time.sleep(0.2)
    run([MARIADB, "up"], timeout=120)
    summary = finish_replay(replay, "db-outage")
    rows, distinct, _ = rows_of(ids)
    assert rows == distinct == summary["delivered"] == 40
    assert summary["retries"] >= 10
    answers = answers_since_the_kill()
    # Never nginx's own 502: every failure the clients saw was a route's 503 with Retry-After.
    assert {status for status, _ in answers} <= {"201", "503"}, answers
    assert all(retry_after == "2" for status, retry_after in answers if status == "503"), answers


def test_down_stops_everything_and_leaves_no_listener(stack):
    pids = service_pids()
    assert len(pids) == len(SERVICES) + 1
    run([STACK, "down"], timeout=120)
    alive = {name: pid for name, pid in pids.items() if pathlib.Path(f"/proc/{pid}").exists()}
    assert not alive, f"still running after down: {alive}"
    groups = subprocess.run(["pgrep", "-g", ",".join(str(pid) for name, pid in pids.items() if name != "mariadb")],
                            capture_output=True, text=True)
    assert groups.stdout.strip() == "", f"processes left in the stack's groups: {groups.stdout}"
    open_ports = [os.environ[name] for name in PORT_VARIABLES if listening(os.environ[name])]
    assert not open_ports, f"still listening after down: {open_ports}"
    assert (RUN_DIR / "mariadb" / "data" / "mysql").is_dir(), "down must keep the database's data"
