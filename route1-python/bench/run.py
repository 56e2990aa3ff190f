"""`make bench`: route 1 against its baselines, in one run, on a private MariaDB.

1. the database's ceiling: scripts/bench-db-ceiling.sh (raw inserts, 150 connections);
2. the bare server: uvicorn + bench/bare_app.py (raw PyMySQL, no validation/ORM/metrics/logs);
3. route 1 (`python -m route1`), same uvicorn, same workers and pool size;
at 150 users without think time (the load generator go-agent/bin/loadgen, one
record per request, each with a fresh UUID), then route 1 at the spec's replay
load (150 users, 1-4 s think time), with the bare server at that load too. Every phase checks that the table holds
exactly as many rows as the 201s it got. Prints one JSON summary line last.

Env: WORKERS (default 2), DB_POOL_SIZE (default 16), BENCH_SECONDS (default 20),
REPLAY_SECONDS (default 60), BENCH_DB_PORT (default 3325), ROUNDS (default 2:
bare and route alternate, so that the machine's other load hits both alike).
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

SERVICE_DIR = Path(__file__).resolve().parents[1]
ROOT = SERVICE_DIR.parent


# The Makefile runs this under scripts/with-env.sh: the project's configuration is in the environment.
ENV = dict(os.environ)
WORKERS = os.environ.get("WORKERS", "2")
POOL_SIZE = os.environ.get("DB_POOL_SIZE", "16")
BENCH_SECONDS = int(os.environ.get("BENCH_SECONDS", "20"))
REPLAY_SECONDS = int(os.environ.get("REPLAY_SECONDS", "60"))
ROUNDS = int(os.environ.get("ROUNDS", "2"))
WORK_DIR = Path(ENV["RUN_DIR"]) / "bench-route1"
LOADGEN = WORK_DIR / "loadgen"
DB_ENV = dict(ENV, MARIADB_DIR=f"{ENV['RUN_DIR']}/bench-route1-mariadb", DB_HOST="127.0.0.1",
              DB_PORT=os.environ.get("BENCH_DB_PORT", "3325"))


def say(text):
    print(text, file=sys.stderr, flush=True)


def mariadb(*args, stdin=None):
    return subprocess.run([str(ROOT / "scripts/mariadb.sh"), *args], input=stdin, env=DB_ENV, text=True,
                          capture_output=True, check=True).stdout


def empty_table():
    mariadb("sql", stdin="TRUNCATE TABLE metric_records;\n")


def row_count():
    return int(mariadb("sql", stdin="SELECT COUNT(*) FROM metric_records;\n").strip())


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    def __init__(self, name, command):
        self.port = free_port()
        env = {key: DB_ENV[key] for key in ("PATH", "DB_HOST", "DB_PORT", "DB_USER", "DB_PASSWORD", "DB_NAME")}
        env.update(PORT=str(self.port), WORKERS=WORKERS, DB_POOL_SIZE=POOL_SIZE, LOG_LEVEL="info")
        self.log = open(WORK_DIR / f"{name}.log", "w")
        self.process = subprocess.Popen([part.format(port=self.port) for part in command], cwd=SERVICE_DIR,
                                        env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}/api/metrics"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{name} exited; see {self.log.name}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                time.sleep(1)  # every worker up, not only the first
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"{name} did not start; see {self.log.name}")

    def cpu_seconds(self):
        """User + system CPU of the server and its worker processes so far."""
        ticks, pids = 0, [self.process.pid]
        while pids:
            pid = pids.pop()
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                ticks += int(fields[11]) + int(fields[12])
                for task in Path(f"/proc/{pid}/task").iterdir():
                    pids += [int(child) for child in (task / "children").read_text().split()]
            except FileNotFoundError:
                continue
        return ticks / os.sysconf("SC_CLK_TCK")

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=20)
        self.log.close()


def bare_server():
    return Server("bare", [".venv/bin/python", "-m", "uvicorn", "bench.bare_app:app", "--host", "127.0.0.1",
                           "--port", "{port}", "--workers", WORKERS, "--loop", "uvloop", "--http", "httptools",
                           "--no-access-log", "--log-level", "warning", "--backlog", "2048"])


def route_server():
    return Server("route1", [".venv/bin/python", "-m", "route1"])


def load(url, records, users, seconds, think=None, spawn_rate=0):
    command = [str(LOADGEN), "-url", url, "-method", "POST", "-records", str(records), "-users", str(users),
               "-spawn-rate", str(spawn_rate), "-duration", f"{seconds}s", "-json"]
    if think:
        command += ["-think-min", think[0], "-think-max", think[1]]
    result = json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
    return result


def measured_phase(name, server_factory, records, **load_args):
    empty_table()
    server = server_factory()
    try:
        cpu_before = server.cpu_seconds()
        result = load(server.url, records, **load_args)
        cpu_ms_per_request = 1000 * (server.cpu_seconds() - cpu_before) / max(1, result["requests"])
    finally:
        server.stop()
    created = result["status"].get("201", 0)
    rows = row_count()
    say(f"{name}: {result['rps']:.0f} req/s, p50 {result['p50_ms']:.1f} ms, p95 {result['p95_ms']:.1f} ms,"
        f" p99 {result['p99_ms']:.1f} ms, errors {result['errors']}, status {result['status']},"
        f" rows {rows} (201s {created}), server CPU {cpu_ms_per_request:.3f} ms/request")
    return dict(result, name=name, rows=rows, rows_match_201s=rows == created, cpu_ms_per_request=cpu_ms_per_request)


def main():
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    subprocess.run(["make", "-s", "-C", str(ROOT / "go-agent"), "loadgen"], check=True)
    # A copy of our own: the go-agent folder may be cleaned while the bench runs.
    shutil.copy2(ROOT / "go-agent/bin/loadgen", LOADGEN)
    mariadb("up")
    records = WORK_DIR / "records.json"
    record = json.loads((ROOT / "contracts/examples/valid/with-id.json").read_text())
    records.write_text(json.dumps([record]))

    empty_table()
    ceiling = json.loads(subprocess.run([str(ROOT / "scripts/bench-db-ceiling.sh")], env=dict(DB_ENV, CONCURRENCY="150"),
                                        capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1])
    say(f"database ceiling: {ceiling['rows_per_s']:.0f} rows/s at {ceiling['concurrency']} connections")

    saturated = {"users": 150, "seconds": BENCH_SECONDS}
    bare_runs, route_runs = [], []
    for round_number in range(1, ROUNDS + 1):
        bare_runs.append(measured_phase(f"bare round {round_number}", bare_server, records, **saturated))
        route_runs.append(measured_phase(f"route1 round {round_number}", route_server, records, **saturated))
    replay_load = {"users": 150, "seconds": REPLAY_SECONDS, "think": ("1s", "4s"), "spawn_rate": 10}
    # The bare server at the same replay load tells how much of the latency is
    # the machine and the database (fsync per commit) rather than the route.
    bare_replay = measured_phase("bare replay", bare_server, records, **replay_load)
    replay = measured_phase("route1 replay", route_server, records, **replay_load)

    def mean(runs, key):
        return sum(run[key] for run in runs) / len(runs)

    bare_rps, route_rps = mean(bare_runs, "rps"), mean(route_runs, "rps")
    summary = {
        "workers": int(WORKERS), "pool_size": int(POOL_SIZE), "rounds": ROUNDS,
        "db_ceiling_rows_per_s": ceiling["rows_per_s"],
        "bare_rps": round(bare_rps, 1), "route_rps": round(route_rps, 1),
        "route_p50_ms": round(mean(route_runs, "p50_ms"), 2), "route_p95_ms": round(mean(route_runs, "p95_ms"), 2),
        "route_p99_ms": round(mean(route_runs, "p99_ms"), 2),
        "bare_p99_ms": round(mean(bare_runs, "p99_ms"), 2),
        # Less sensitive to other load on the machine than req/s: what one request costs the server.
        "bare_cpu_ms_per_request": round(mean(bare_runs, "cpu_ms_per_request"), 3),
        "route_cpu_ms_per_request": round(mean(route_runs, "cpu_ms_per_request"), 3),
        "route_to_bare_by_cpu": round(mean(bare_runs, "cpu_ms_per_request") / mean(route_runs, "cpu_ms_per_request"), 3),
        "route_to_bare": round(route_rps / bare_rps, 3),
        "route_to_db_ceiling": round(route_rps / ceiling["rows_per_s"], 3),
        "bare_to_db_ceiling": round(bare_rps / ceiling["rows_per_s"], 3),
        "replay_rps": replay["rps"], "replay_p50_ms": replay["p50_ms"], "replay_p99_ms": replay["p99_ms"],
        "replay_errors": replay["errors"], "replay_status": replay["status"],
        "bare_replay_p50_ms": bare_replay["p50_ms"], "bare_replay_p99_ms": bare_replay["p99_ms"],
        "rows_match_201s": all(run["rows_match_201s"] for run in bare_runs + route_runs + [bare_replay, replay]),
        "goal_route_to_bare_0_8": route_rps / bare_rps >= 0.8,
        "goal_replay_p99_under_15ms": replay["p99_ms"] < 15 and replay["errors"] == 0,
    }
    (WORK_DIR / "result.json").write_text(json.dumps(summary, indent=2))
    say(f"route1/bare {summary['route_to_bare']:.2f}x by req/s, {summary['route_to_bare_by_cpu']:.2f}x by server"
        f" CPU per request; route1/db-ceiling {summary['route_to_db_ceiling']:.2f}x,"
        f" bare/db-ceiling {summary['bare_to_db_ceiling']:.2f}x; replay p50 {replay['p50_ms']:.1f} ms,"
        f" p99 {replay['p99_ms']:.1f} ms, errors {replay['errors']} (bare at replay: p50"
        f" {bare_replay['p50_ms']:.1f} ms, p99 {bare_replay['p99_ms']:.1f} ms)")
    print(json.dumps(summary))
    if not summary["rows_match_201s"]:
        sys.exit("a phase's row count differs from its number of 201s")


if __name__ == "__main__":
    try:
        main()
    finally:
        mariadb("down")
