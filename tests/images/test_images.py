"""Each image as it is deployed: what it contains, whom it runs as, what it answers, how it stops."""
import json
import os
import queue
import re
import subprocess
import uuid
from pathlib import Path

import jsonschema
import pytest
import socketio

from conftest import AGENT_BUSY_SHARE, ROOT, http, podman

CONTRACTS = ROOT / "contracts"
IMAGE_NAMES = ["so1-agent", "so1-route1-python", "so1-route2-node", "so1-ws-server", "so1-web-dashboard"]
ROUTES = {"route1-python": "python", "route2-node": "node"}
# Never in an image: the local stack's state, the configuration with its password,
# a virtualenv, the repository's history.
LOCAL_STATE_NAMES = {".run", ".env", ".venv", ".git"}
# Where each Node image's production dependencies are: a developer's node_modules
# (with devDependencies) must not be what ended up there.
NODE_APPS = {"so1-route2-node": ("route2-node", "/app/route2-node"), "so1-ws-server": ("ws-server", "/app"),
             "so1-web-dashboard": ("web-dashboard", "/app")}
DELIVERY_TIMEOUT_S = 15


def test_five_images_built(images):
    assert sorted(images) == sorted(IMAGE_NAMES)


def matrix():
    """NAME -> (context, Dockerfile) as .github/workflows/images.yml builds them."""
    out = subprocess.run([str(ROOT / "scripts/images-matrix.sh")], capture_output=True, text=True, check=True).stdout
    return {name: (ROOT / context, ROOT / file) for name, context, file in (line.split() for line in out.splitlines())}


def copy_sources(dockerfile):
    """The context paths of every COPY/ADD that is not --from another stage."""
    sources = []
    for line in dockerfile.read_text().splitlines():
        words = line.split()
        if words and words[0] in ("COPY", "ADD") and not any(w.startswith("--from") for w in words):
            sources += [w for w in words[1:-1] if not w.startswith("--")]
    return sources


@pytest.mark.parametrize("name", IMAGE_NAMES)
def test_build_context_carries_only_what_the_dockerfile_copies(name, tmp_path):
    context, dockerfile = matrix()[name]
    sources = copy_sources(dockerfile)
    assert sources, f"{dockerfile} copies nothing from its context"
    # A probe built from the same context with the same ignore file copies all it is sent.
    # scripts/images.sh passes <Dockerfile>.dockerignore as BuildKit reads it; else podman,
    # like BuildKit, reads the context's .dockerignore.
    ignore = Path(f"{dockerfile}.dockerignore")
    probe = tmp_path / "Containerfile"
    probe.write_text("FROM gcr.io/distroless/static-debian12:nonroot\nCOPY . /context/\n")
    tag = f"localhost/so1-context-probe-{name}"
    podman("build", "--pull=never", "--quiet", *(["--ignorefile", str(ignore)] if ignore.exists() else []),
           "-f", str(probe), "-t", tag, str(context), timeout=300)
    try:
        root = Path(podman("image", "mount", tag).stdout.strip()) / "context"
        sent = {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}
    finally:
        podman("image", "unmount", tag, check=False)
        podman("rmi", tag, check=False)
    def copied(path):
        return any(path == source or path.startswith(source.rstrip("/") + "/") for source in sources)
    assert sorted(p for p in sent if not copied(p)) == [], f"{name}: the context sends what no COPY uses"
    tracked = subprocess.run(["git", "-C", str(context), "ls-files", "--", *sources], capture_output=True, text=True,
                             check=True).stdout.split()
    assert tracked, f"{name}: no tracked file under {sources}"
    assert sorted(set(tracked) - sent) == [], f"{name}: tracked files a COPY needs are not sent"


@pytest.fixture(scope="module")
def image_roots(images):
    """NAME -> the image's root filesystem, mounted read-only on the host."""
    roots = {name: Path(podman("image", "mount", image).stdout.strip()) for name, image in images.items()}
    yield roots
    for image in images.values():
        podman("image", "unmount", image, check=False)


@pytest.mark.parametrize("name", IMAGE_NAMES)
def test_no_local_state_in_image(name, image_roots):
    # The build ran with both present in the working tree (scripts/env.sh makes them).
    assert (ROOT / ".env").is_file() and (ROOT / ".run").is_dir()
    found = subprocess.run(
        ["find", str(image_roots[name]), "-xdev", "(", *" -o ".join(f"-name {n}" for n in sorted(LOCAL_STATE_NAMES)).split(),
         ")", "-print"], capture_output=True, text=True, check=True).stdout.split()
    assert found == [], f"{name} carries local state: {found}"


@pytest.mark.parametrize("name", sorted(NODE_APPS))
def test_node_image_has_production_dependencies_only(name, image_roots):
    folder, app_dir = NODE_APPS[name]
    lock = json.loads((ROOT / folder / "package-lock.json").read_text())["packages"]
    app = image_roots[name] / app_dir.lstrip("/")
    missing = [path for path, entry in lock.items() if path and not entry.get("dev") and not entry.get("optional")
               and not (app / path).is_dir()]
    assert missing == [], f"{name}: production dependencies missing: {missing}"
    # The lock marks what only devDependencies need; a developer's node_modules would bring it.
    dev_only = [path for path, entry in lock.items() if entry.get("dev") and (app / path).exists()]
    assert dev_only == [], f"{name} carries development dependencies: {dev_only}"


def test_dashboard_image_serves_the_build(image_roots):
    # The page is bundled into dist/; node_modules holds only the server's own dependencies
    # (test_node_image_has_production_dependencies_only).
    assert (image_roots["so1-web-dashboard"] / "app/dist/index.html").is_file()


@pytest.mark.parametrize("name", IMAGE_NAMES)
def test_image_user_is_not_root(name, images, image_roots):
    user = podman("image", "inspect", "--format", "{{.Config.User}}", images[name]).stdout.strip().split(":")[0]
    uid = user
    if not user.isdigit():
        passwd = (image_roots[name] / "etc/passwd").read_text().splitlines()
        uids = {line.split(":")[0]: line.split(":")[2] for line in passwd}
        assert user in uids, f"{name}: USER {user!r} is not in the image's /etc/passwd"
        uid = uids[user]
    assert uid != "0", f"{name} runs as root (USER {user!r})"


@pytest.mark.parametrize("name", ["route1-python", "route2-node", "ws-server"])
def test_deployment_settings_are_strict(name, started):
    container = started[name]
    assert container.run_as_non_root and container.user and not container.user.startswith("0:")
    inspect = json.loads(podman("inspect", "--format", "{{json .HostConfig}}", container.name).stdout)
    assert inspect["ReadonlyRootfs"] is True
    assert "no-new-privileges" in " ".join(inspect["SecurityOpt"] or [])
    effective = podman("exec", container.name, "cat", "/proc/1/status").stdout
    assert re.search(r"^CapEff:\s+0+$", effective, re.M), f"{name} keeps capabilities:\n{effective}"
    assert re.search(r"^NoNewPrivs:\s+1$", effective, re.M)
    uid = re.search(r"^Uid:\s+(\d+)", effective, re.M).group(1)
    assert uid == container.user.split(":")[0]


@pytest.mark.parametrize("name", ["route1-python", "route2-node", "ws-server"])
def test_probes_answer_with_the_database_up(name, started):
    container = started[name]
    container.wait_answers(container.liveness_path)
    container.wait_answers(container.readiness_path)


def new_record(example="with-id.json"):
    record = json.loads((CONTRACTS / "examples/valid" / example).read_text())
    record["id"] = str(uuid.uuid4())
    return record


def post_record(route, record):
    return http("POST", route.url + "/api/metrics", json.dumps(record).encode(),
                {"Content-Type": "application/json", "Authorization": f"Bearer {os.environ['INGEST_TOKEN']}"})


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_route_image_stores_a_contract_example(name, started, database):
    route = started[name]
    route.wait_answers(route.readiness_path)
    record = new_record()
    status, _, body = post_record(route, record)
    assert status == 201, body
    rows = database.sql(f"SELECT route, total_ram, hora FROM metric_records WHERE record_id = '{record['id']}';\n")
    assert rows.split("\t")[0] == ROUTES[name], rows
    assert rows.strip().split("\t")[1] == str(record["total_ram"])


def connect(url, events, origin):
    """A socket.io client over WebSocket sending Origin as a page at `origin` would."""
    client = socketio.Client(reconnection=False, websocket_extra_options={"origin": origin})
    for event in ("history", "metrics"):
        client.on(event, lambda data, event=event: events.put((event, data)))
    client.connect(url, transports=["websocket"], wait_timeout=10)
    return client


def wait_for_row(events, record_id):
    while True:
        try:
            event, data = events.get(timeout=DELIVERY_TIMEOUT_S)
        except queue.Empty:
            raise AssertionError(f"row {record_id} was not delivered within {DELIVERY_TIMEOUT_S} s") from None
        for row in data["rows"]:
            if row["record_id"] == record_id:
                return event, row


def test_ws_server_delivers_a_stored_row(started):
    ws, route = started["ws-server"], started["route1-python"]
    ws.wait_answers(ws.readiness_path)
    route.wait_answers(route.readiness_path)
    events = queue.Queue()
    client = connect(ws.url, events, started["web-dashboard"].url)
    try:
        record = new_record()
        assert post_record(route, record)[0] == 201
        event, row = wait_for_row(events, record["id"])
        assert row["route"] == "python" and row["total_ram"] == record["total_ram"]
    finally:
        client.disconnect()


def test_ws_server_refuses_an_origin_it_does_not_list(started):
    ws = started["ws-server"]
    ws.wait_answers(ws.readiness_path)
    with pytest.raises(socketio.exceptions.ConnectionError):
        connect(ws.url, queue.Queue(), "http://evil.example").disconnect()


def test_dashboard_image_serves_the_page_and_proxies_socket_io(started):
    dashboard, route = started["web-dashboard"], started["route2-node"]
    page = dashboard.wait_answers("/").decode()
    assert '<div id="root"></div>' in page
    for asset in re.findall(r'(?:src|href)="(/assets/[^"]+)"', page):
        assert http("GET", dashboard.url + asset)[0] == 200, asset
    assert http("GET", dashboard.url + "/config.js")[0] == 200
    events = queue.Queue()
    client = connect(dashboard.url, events, dashboard.url)  # the page's own origin, proxied
    try:
        record = new_record()
        assert post_record(route, record)[0] == 201
        _, row = wait_for_row(events, record["id"])
        assert row["route"] == "node"
    finally:
        client.disconnect()


def test_agent_image_answers_a_valid_record_from_the_modules(started):
    agent = started["agent"]
    # 503 until the first CPU sampling window (1 s) has passed.
    record = json.loads(agent.wait_answers("/api/metrics"))
    schema = json.loads((CONTRACTS / "metric-record.schema.json").read_text())
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(record)
    module = json.loads((ROOT / "go-agent/testdata/module/ram_202000000").read_text())
    assert record["total_ram"] == module["total_ram"]
    assert abs(record["porcentaje_cpu_uso"] - AGENT_BUSY_SHARE * 100) < 5, record


# Last: each container stopped as its orchestrator stops it.
@pytest.mark.parametrize("name", ["agent", "route1-python", "route2-node", "ws-server", "web-dashboard"])
def test_sigterm_stops_the_container_within_its_grace_period(name, started):
    container = started[name]
    container.wait_answers("/healthz")
    seconds, exit_code = container.stop()
    assert exit_code != 137, f"{name} was killed after {seconds:.1f} s: it ignored SIGTERM\n{container.logs()}"
    assert seconds < container.grace_s, f"{name} took {seconds:.1f} s of its {container.grace_s} s to stop"
