"""The cluster on one machine, for real: scripts/local-cluster.sh brings up a
single-node Kubernetes (kubelet, containerd, CNI bridge, kube-proxy, CoreDNS,
kube-router), `deploy` runs the `local` variant from this build's images against
a private MariaDB on the host, and every check below talks to real pods.

It runs under $RUN_DIR/test-cluster and refuses to start while another cluster
of this project is up (one bridge, one API address per machine)."""
import base64
import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = str(ROOT / "scripts/local-cluster.sh")
# The Makefile runs this under scripts/with-env.sh: the project's configuration is in the environment.
RUN_DIR = Path(os.environ["RUN_DIR"]) / "test-cluster"
# Its own state, agent port and database: a developer's stack on 127.0.0.1:3307 is untouched
# (this MariaDB listens on 172.18.0.1:3307 only, where the local overlay sends the pods; the
# bind address and client hosts are the ones `deploy` gives it, for the restart of the outage test).
ENV = dict(os.environ, RUN_DIR=str(RUN_DIR), CLUSTER_DIR=str(RUN_DIR / "cluster"), MARIADB_DIR=str(RUN_DIR / "mariadb"),
           DB_PORT="3307", CLUSTER_DB_BIND="172.18.0.1", MARIADB_BIND_ADDRESS="172.18.0.1",
           MARIADB_CLIENT_HOSTS="127.0.0.1 localhost 172.18.0.%",
           AGENT_PORT=os.environ.get("TEST_CLUSTER_AGENT_PORT", "18481"))
NAMESPACE = "so1-fase2"
BRIDGE = "so1-k8s0"
UP_TIMEOUT_S = 1800  # a fresh machine builds every image first
CLIENT_TIMEOUT_S = 120
CONTRACTS = ROOT / "contracts"
ENTRY_URL = "http://127.0.0.1:30080"
DASHBOARD_URL = "http://127.0.0.1:30088"
DASHBOARD_CHECK = ROOT / "tests/e2e/dashboard-check.mjs"
# The token the routes' Secret ingest-token holds: `deploy` made it from the same .env.
AUTHORIZATION = f"Bearer {os.environ['INGEST_TOKEN']}"


def run(*args, timeout=300, check=True, input=None):
    return subprocess.run(args, env=ENV, capture_output=True, text=True, timeout=timeout, check=check, input=input)


def kubectl(*args, **kwargs):
    return run(KUBECTL, "--kubeconfig", KUBECONFIG, *args, **kwargs)


KUBECONFIG = run(SCRIPT, "kubeconfig").stdout.strip()
KUBECTL = str(Path(run(str(ROOT / "mesh/tests/k8s-tools.sh"), timeout=3600).stdout.strip()) / "kubectl")


def sql(statement):
    return run(str(ROOT / "scripts/mariadb.sh"), "sql", input=statement).stdout


def rows_of(ids):
    """{route: (rows, distinct record ids)} in metric_records for these record ids."""
    quoted = ",".join(f"'{i}'" for i in ids)
    rows = sql(f"SELECT route, COUNT(*), COUNT(DISTINCT record_id) FROM metric_records WHERE record_id IN ({quoted})"
               " GROUP BY route;\n")
    return {route: (int(count), int(distinct))
            for route, count, distinct in (line.split("\t") for line in rows.splitlines())}


def post_through_entry(record):
    """POSTs one record through the entry point from the host; returns the route that stored it."""
    request = urllib.request.Request(f"{ENTRY_URL}/api/metrics", data=json.dumps(record).encode(), method="POST",
                                     headers={"Content-Type": "application/json", "Authorization": AUTHORIZATION})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201
        return json.loads(response.read())["route"]


@pytest.fixture(scope="module")
def cluster():
    if subprocess.run(["ip", "link", "show", BRIDGE], capture_output=True).returncode == 0:
        pytest.fail(f"bridge {BRIDGE} exists: another cluster of this project is up; stop it (make cluster-down)")
    # A socket bound to 172.18.0.1 outlives the bridge: the MariaDB of an earlier `make cluster-up`.
    listeners = subprocess.run(["ss", "-Hltn", "src", "172.18.0.1:3307"], capture_output=True, text=True).stdout
    if listeners.strip():
        pytest.fail("something still listens on 172.18.0.1:3307, most likely the MariaDB of an earlier"
                    f" `make cluster-up` (stop it: make down):\n{listeners}")
    # A new cluster and database every run: no pod, restart count, table or row of an earlier run
    # (the table is the migration Job's to make).
    shutil.rmtree(ENV["CLUSTER_DIR"], ignore_errors=True)
    shutil.rmtree(ENV["MARIADB_DIR"], ignore_errors=True)
    try:
        up = run(SCRIPT, "up", timeout=UP_TIMEOUT_S, check=False)
        assert up.returncode == 0, f"local-cluster.sh up failed:\n{up.stdout}\n{up.stderr[-6000:]}"
        deploy = run(SCRIPT, "deploy", timeout=UP_TIMEOUT_S, check=False)
        assert deploy.returncode == 0, f"local-cluster.sh deploy failed:\n{deploy.stdout}\n{deploy.stderr[-6000:]}"
        sql("DELETE FROM metric_records;\n")
        yield
    finally:
        run(str(ROOT / "scripts/stack.sh"), "stop", "agent", check=False)
        run(SCRIPT, "down", check=False, timeout=300)
        run(str(ROOT / "scripts/mariadb.sh"), "down", check=False)


def client_pod(namespace, name, script):
    """Runs `script` (Python) in a pod of route 1's image, as restricted PSA allows; returns (exit code, output)."""
    image = json.loads(kubectl("-n", NAMESPACE, "get", "deployment", "route1-python", "-o", "json").stdout)[
        "spec"]["template"]["spec"]["containers"][0]["image"]
    pod = {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "restartPolicy": "Never", "automountServiceAccountToken": False,
            "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{
                "name": "client", "image": image, "imagePullPolicy": "Never", "command": ["python", "-c", script],
                # The token in the environment, as the routes get theirs, not in the command line.
                "env": [{"name": "AUTHORIZATION", "value": AUTHORIZATION}],
                "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                    "capabilities": {"drop": ["ALL"]}},
            }],
        },
    }
    kubectl("create", "namespace", namespace, check=False)
    kubectl("-n", namespace, "delete", "pod", name, "--ignore-not-found", "--wait")
    kubectl("apply", "-f", "-", input=json.dumps(pod))
    deadline = time.monotonic() + CLIENT_TIMEOUT_S
    while time.monotonic() < deadline:
        phase = kubectl("-n", namespace, "get", "pod", name, "-o", "jsonpath={.status.phase}").stdout
        if phase in ("Succeeded", "Failed"):
            logs = kubectl("-n", namespace, "logs", name).stdout
            kubectl("-n", namespace, "delete", "pod", name, "--wait=false")
            return (0 if phase == "Succeeded" else 1), logs
        time.sleep(1)
    raise AssertionError(f"client pod {namespace}/{name} did not finish within {CLIENT_TIMEOUT_S} s")


# Tries for TRY_S seconds: kube-router admits a new pod's address into the
# policies' sets a moment after the pod starts, so the first attempts of an
# allowed client may be refused too. Exit 0 on the first answer.
POST_RECORD = """
import os, sys, time, urllib.request
deadline = time.monotonic() + TRY_S
while True:
    request = urllib.request.Request(URL, data=BODY.encode(), method="POST",
                                     headers={"Content-Type": "application/json",
                                              "Authorization": os.environ["AUTHORIZATION"]})
    try:
        with urllib.request.urlopen(request, timeout=3) as response:
            print(response.status, response.read().decode())
            sys.exit(0)
    except Exception as error:
        if time.monotonic() > deadline:
            print("no answer:", error)
            sys.exit(1)
    time.sleep(0.5)
"""


def post_from_pod(namespace, url, record, try_s):
    script = f"URL = {url!r}\nBODY = {json.dumps(record)!r}\nTRY_S = {try_s}\n" + POST_RECORD
    return client_pod(namespace, f"client-{uuid.uuid4().hex[:8]}", script)


def new_record():
    record = json.loads((CONTRACTS / "examples/valid/with-id.json").read_text())
    record["id"] = str(uuid.uuid4())
    return record


def serving(pods):
    """All but the migration Job's pod, which ends Succeeded, never Ready
    (test_the_migration_job_made_the_table checks it)."""
    return [p for p in pods if p["metadata"]["labels"].get("app.kubernetes.io/name") != "db-migrate"]


def test_node_is_ready(cluster):
    nodes = json.loads(kubectl("get", "nodes", "-o", "json").stdout)["items"]
    assert [n["metadata"]["name"] for n in nodes] == ["so1-node"]
    ready = {c["type"]: c["status"] for c in nodes[0]["status"]["conditions"]}["Ready"]
    assert ready == "True"


def test_every_pod_is_ready(cluster):
    pods = json.loads(kubectl("get", "pods", "-A", "-o", "json").stdout)["items"]
    names = {(p["metadata"]["namespace"], p["metadata"]["labels"].get("app.kubernetes.io/name",
                                                                       p["metadata"]["labels"].get("k8s-app")))
             for p in pods}
    assert {(NAMESPACE, "route1-python"), (NAMESPACE, "route2-node"), (NAMESPACE, "ws-server"),
            ("ingress-nginx", "ingress-nginx"), ("web-dashboard", "web-dashboard"), ("kube-system", "kube-dns")} <= names
    for pod in serving(pods):
        ready = {c["type"]: c["status"] for c in pod["status"].get("conditions", [])}.get("Ready")
        assert ready == "True", f"{pod['metadata']['name']} is not Ready: {pod['status']}"


def test_the_migration_job_made_the_table(cluster):
    job = json.loads(kubectl("-n", NAMESPACE, "get", "job", "db-migrate", "-o", "json").stdout)
    assert job["status"].get("succeeded") == 1, job["status"]
    log = kubectl("-n", NAMESPACE, "logs", "job/db-migrate").stdout
    # The database was new (the fixture removed it) and mariadb.sh made no table: the Job did.
    assert "Running upgrade  -> 0001" in log, log
    assert sql("SELECT version_num FROM alembic_version;\n").split() == ["0001"]
    assert "metric_records" in sql("SHOW TABLES;\n").split()


def test_ws_server_reads_with_a_select_only_user(cluster):
    deployment = json.loads(kubectl("-n", NAMESPACE, "get", "deployment", "ws-server", "-o", "json").stdout)
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert [source["secretRef"]["name"] for source in container["envFrom"]] == ["db-read-credentials"]
    secret = json.loads(kubectl("-n", NAMESPACE, "get", "secret", "db-read-credentials", "-o", "json").stdout)
    user = base64.b64decode(secret["data"]["DB_USER"]).decode()
    assert user == os.environ["DB_READ_USER"] != os.environ["DB_USER"]
    grants = sql("SELECT DISTINCT privilege_type FROM information_schema.schema_privileges"
                 f" WHERE grantee LIKE \"'{user}'@%\";\n")
    assert grants.split() == ["SELECT"]


def test_pod_security_admission_refuses_a_privileged_pod(cluster):
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "privileged", "namespace": NAMESPACE},
           "spec": {"containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10",
                                    "securityContext": {"privileged": True}}]}}
    refused = kubectl("apply", "-f", "-", input=json.dumps(pod), check=False)
    assert refused.returncode != 0
    assert 'violates PodSecurity "restricted:latest"' in refused.stderr, refused.stderr


def test_a_pod_of_the_namespace_stores_through_the_apex_service(cluster):
    # CoreDNS resolves `ingest`, kube-proxy balances it over both routes, the route writes to the host's MariaDB.
    record = new_record()
    code, output = post_from_pod(NAMESPACE, "http://ingest:8080/api/metrics", record, try_s=30)
    assert code == 0 and output.startswith("201 "), output
    route = sql(f"SELECT route FROM metric_records WHERE record_id = '{record['id']}';\n").strip()
    assert route in ("python", "node")


@pytest.mark.parametrize("route", ["route1-python", "route2-node"])
def test_network_policy_refuses_a_pod_of_another_namespace(cluster, route):
    record = new_record()
    # Refused for all of 10 s, while the same request from the ingress namespace is served (below).
    code, output = post_from_pod("so1-outsider", f"http://{route}.{NAMESPACE}:8080/api/metrics", record, try_s=10)
    assert code == 1 and ("refused" in output or "timed out" in output), output
    assert sql(f"SELECT COUNT(*) FROM metric_records WHERE record_id = '{record['id']}';\n").strip() == "0"


@pytest.mark.parametrize("route", ["route1-python", "route2-node"])
def test_network_policy_admits_the_ingress_namespace(cluster, route):
    record = new_record()
    code, output = post_from_pod("ingress-nginx", f"http://{route}.{NAMESPACE}:8080/api/metrics", record, try_s=30)
    assert code == 0 and output.startswith("201 "), output


def test_the_entry_point_serves_both_routes(cluster):
    routes = [post_through_entry(new_record()) for _ in range(40)]
    # kube-proxy picks an endpoint at random per connection: 40 draws fall 10-30 with odds above 99.8 %.
    assert 10 <= routes.count("python") <= 30, routes


def test_the_entry_point_passes_on_the_routes_401_without_the_token(cluster):
    record = new_record()
    routes = set()
    for _ in range(20):  # split per connection: both routes answer (all 20 to one: p = 2^-19)
        request = urllib.request.Request(f"{ENTRY_URL}/api/metrics", data=json.dumps(record).encode(),
                                         method="POST", headers={"Content-Type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert (refused.value.code, refused.value.headers["WWW-Authenticate"]) == (401, "Bearer")
        routes.add(refused.value.headers["X-Route"])
    assert routes == {"python", "node"}
    assert rows_of([record["id"]]) == {}


def test_cluster_load_stores_every_record_once_through_a_route_pod_deleted_mid_replay(cluster):
    env = dict(ENV, COLLECT_USERS="20", COLLECT_RATE="5", COLLECT_TIME="10s", REPLAY_USERS="10", REPLAY_RATE="5")
    load = subprocess.Popen([SCRIPT, "load"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = []
    deleted = None
    for line in load.stdout:
        output.append(line)
        if line.startswith("== replay") and deleted is None:
            time.sleep(3)
            deleted = kubectl("-n", NAMESPACE, "delete", "pod", "-l", "app.kubernetes.io/name=route1-python",
                              "--wait=false").stdout
    assert load.wait(timeout=600) == 0, "".join(output)
    assert deleted and "deleted" in deleted, "".join(output)
    records = json.loads((RUN_DIR / "records.json").read_text())
    ids = [r["id"] for r in records]
    assert len(ids) > 20 and len(set(ids)) == len(ids)
    per_route = rows_of(ids)
    assert sum(count for count, _ in per_route.values()) == len(ids), (per_route, "".join(output)[-3000:])
    assert sum(distinct for _, distinct in per_route.values()) == len(ids)
    assert set(per_route) == {"python", "node"}, per_route
    text = "".join(output)
    assert "route comparison" in text and "python" in text and "node" in text
    # The deleted pod was replaced.
    kubectl("-n", NAMESPACE, "rollout", "status", "deployment/route1-python", "--timeout", "120s")


def test_the_dashboard_served_from_the_cluster_shows_new_rows_live(cluster):
    # The page (the dashboard pod, its socket.io proxied to ws-server through the entry point)
    # is open and connected before these rows exist: they can only arrive live.
    check = subprocess.Popen(["node", str(DASHBOARD_CHECK), f"{DASHBOARD_URL}/", "-", str(RUN_DIR / "dashboard.png")],
                             env=ENV, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert check.stdout.readline().strip() == "connected", check.stderr.read()[-3000:]
        records = [new_record() for _ in range(5)]
        for record in records:
            post_through_entry(record)
        latest_id, total_procesos = sql(
            f"SELECT id, total_procesos FROM metric_records WHERE record_id = '{records[-1]['id']}';\n").split()
        per_route = dict(line.split("\t") for line in sql(
            "SELECT route, COUNT(*) FROM metric_records GROUP BY route;\n").splitlines())
        expected = {"latest_id": latest_id, "total_procesos": total_procesos,
                    "total": sum(int(count) for count in per_route.values()),
                    "python": per_route.get("python", "0"), "node": per_route.get("node", "0")}
        output, errors = check.communicate(json.dumps(expected) + "\n", timeout=90)
    finally:
        check.kill()
    assert check.returncode == 0, errors[-3000:]
    assert "dashboard shows" in output


def test_probes_still_pass_under_the_policies(cluster):
    pods = json.loads(kubectl("-n", NAMESPACE, "get", "pods", "-o", "json").stdout)["items"]
    for pod in serving(pods):
        for status in pod["status"]["containerStatuses"]:
            assert status["ready"] and status["restartCount"] == 0, status


def test_a_database_stopped_for_10_s_mid_replay_loses_nothing(cluster):
    collected = json.loads((RUN_DIR / "records.json").read_text())
    records = [dict(collected[i % len(collected)], id=str(uuid.uuid4())) for i in range(60)]
    ids = [r["id"] for r in records]
    records_file = RUN_DIR / "db-outage.json"
    records_file.write_text(json.dumps(records))
    summary_file = RUN_DIR / "db-outage-summary.json"
    # 10 users, 1-4 s apart: about 15 s of replay. Retries every 2 s at most, for long enough to outlast the outage.
    env = dict(ENV, INGRESS_URL=ENTRY_URL, RECORDS_FILE=str(records_file), REPLAY_SUMMARY=str(summary_file),
               LOCUST_STATS_DIR=str(RUN_DIR / "db-outage"), REPLAY_USERS="10", REPLAY_RATE="10",
               REPLAY_TIME_LIMIT="300s", LOCUST_BACKOFF_CAP="2", LOCUST_MAX_ATTEMPTS="60")
    replay = subprocess.Popen([str(ROOT / "locust/run-phase.sh"), "replay"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    mariadb = str(ROOT / "scripts/mariadb.sh")
    try:
        deadline = time.monotonic() + 60
        while sum(rows for rows, _ in rows_of(ids).values()) < 5:
            assert time.monotonic() < deadline and replay.poll() is None, "the replay stored nothing in 60 s"
            time.sleep(0.2)
        run(mariadb, "down")
        stopped_at = time.monotonic()
        # Two failed readiness probes 5 s apart would have taken a route out of service by now.
        time.sleep(11)
        assert replay.poll() is None, "the replay was over before the database came back: nothing was tested"
        routes = json.loads(kubectl("-n", NAMESPACE, "get", "pods", "-l", "app.kubernetes.io/component=ingest",
                                    "-o", "json").stdout)["items"]
        assert len(routes) == 2, [pod["metadata"]["name"] for pod in routes]
        for pod in routes:
            conditions = {c["type"]: c["status"] for c in pod["status"]["conditions"]}
            assert conditions["Ready"] == "True", f"{pod['metadata']['name']} left service with the database down"
        # So the entry point still has both routes, and a client gets their 503, not a gateway's 502.
        for _ in range(4):
            with pytest.raises(urllib.error.HTTPError) as refused:
                post_through_entry(new_record())
            assert refused.value.code == 503 and refused.value.headers["Retry-After"] == "2", refused.value.headers
        run(mariadb, "up", timeout=120)
        output, _ = replay.communicate(timeout=300)
    finally:
        replay.kill()
    assert replay.returncode == 0, output[-4000:]
    assert time.monotonic() - stopped_at >= 10
    summary = json.loads(summary_file.read_text())
    per_route = rows_of(ids)
    rows = sum(count for count, _ in per_route.values())
    distinct = sum(distinct for _, distinct in per_route.values())
    assert rows == distinct == summary["delivered"] == 60, (summary, per_route)
    assert summary["retries"] > 0, summary


def test_down_leaves_no_process_mount_or_bridge(cluster):
    down = run(SCRIPT, "down", check=False)
    assert down.returncode == 0, down.stdout + down.stderr
    cluster_dir = ENV["CLUSTER_DIR"]
    processes = subprocess.run(["pgrep", "-af", cluster_dir], capture_output=True, text=True).stdout.strip()
    assert processes == "", processes
    mounts = [line for line in Path("/proc/self/mounts").read_text().splitlines() if cluster_dir in line]
    assert mounts == []
    assert subprocess.run(["ip", "link", "show", BRIDGE], capture_output=True).returncode != 0
    # No pod process survives (each would sit in a cgroup under kubepods).
    assert list(Path("/sys/fs/cgroup").glob("*/kubepods")) == []
