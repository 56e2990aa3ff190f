"""The main job's closing summary: records collected, sent and stored per
route, the split, and each route's latency percentiles as Locust saw them.

Reads (paths from the environment, with run-phase.sh's defaults under $RUN_DIR):
  RECORDS_FILE      the collected records
  REPLAY_SUMMARY    replay.py's outcome, with Locust's figures per route name
and asks the database (scripts/mariadb.sh sql) how many of this run's record
ids each route stored. Exit code 1 when the database does not hold every
record the replay delivered.
"""

import json
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
ROUTES = ("python", "node")
ID_BATCH = 2000


def stored_per_route(ids):
    """Rows of this run's ids in metric_records, by route."""
    counts = {route: 0 for route in ROUTES}
    for start in range(0, len(ids), ID_BATCH):
        batch = ids[start:start + ID_BATCH]
        quoted = ",".join("'" + record_id.replace("\\", "").replace("'", "") + "'" for record_id in batch)
        sql = f"SELECT route, COUNT(*) FROM metric_records WHERE record_id IN ({quoted}) GROUP BY route;"
        result = subprocess.run([str(ROOT / "scripts/mariadb.sh"), "sql"], input=sql, text=True,
                                capture_output=True, check=False)
        if result.returncode != 0:
            raise SystemExit(f"summary: the database query failed: {result.stderr.strip()}")
        for line in result.stdout.splitlines():
            route, count = line.split("\t")
            counts[route] = counts.get(route, 0) + int(count)
    return counts


def main():
    run_dir = pathlib.Path(os.environ.get("RUN_DIR", ROOT / ".run"))
    records_file = pathlib.Path(os.environ.get("RECORDS_FILE", run_dir / "records.json"))
    summary_file = pathlib.Path(os.environ.get("REPLAY_SUMMARY", run_dir / "replay-summary.json"))
    stats_dir = pathlib.Path(os.environ.get("LOCUST_STATS_DIR", run_dir / "locust"))

    records = json.loads(records_file.read_text())
    ids = [record["id"] for record in records]
    replay = json.loads(summary_file.read_text()) if summary_file.exists() else {}
    stored = stored_per_route(ids)
    total_stored = sum(stored.values())
    latencies = replay.get("routes", {})

    print()
    print("== summary")
    print(f"records collected   {len(records)}   (saved in {records_file})")
    if "delivered" in replay:
        print(f"records sent        {replay['delivered']} delivered of {replay['records']}"
              f"   ({replay['retries']} retries, {replay['rejected']} rejected, {replay['gave_up']} given up)")
    else:
        print(f"records sent        unknown: the replay did not finish ({summary_file})")
    print(f"records stored      {total_stored}   (rows in metric_records with this run's ids)")
    print()
    print(f"{'route':8} {'stored':>8} {'split':>7} {'requests':>9} {'failed':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}")
    for route in sorted(set(ROUTES) | set(stored) | set(latencies)):
        row = latencies.get(route, {})
        split = f"{100 * stored.get(route, 0) / total_stored:.1f}%" if total_stored else "-"
        print(f"{route:8} {stored.get(route, 0):>8} {split:>7} {row.get('requests', '-'):>9} "
              f"{row.get('failures', '-'):>7} {row.get('p50_ms', '-'):>7} {row.get('p95_ms', '-'):>7} "
              f"{row.get('p99_ms', '-'):>7}")
    print(f"(requests and latency: Locust's client-side view, by the X-Route that answered; CSV in {stats_dir})")

    delivered = replay.get("delivered", 0)
    if total_stored != delivered or len(set(ids)) != len(ids):
        print(f"MISMATCH: {delivered} records delivered but {total_stored} stored", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
