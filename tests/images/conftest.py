"""The five images (built by scripts/images.sh before pytest starts), each run
with podman as its deployment runs it, against a private MariaDB on the host.

Route 1, route 2 and ws-server take every container setting from their
Deployment in the rendered `local` variant (user, read-only root, capabilities,
privilege escalation, env, emptyDir mounts, grace period, probe paths); each
Secret's keys come from its template in mesh/secrets/. The agent runs
as scripts/vm-setup.sh runs it on the VM, the dashboard as its Cloud Run service
(web-dashboard/cloudrun/service.yaml) declares it, both with a read-only root
and no capabilities as well.

Containers use slirp4netns with the host's loopback reachable at 10.0.2.2, so
the MariaDB of the test stays on 127.0.0.1, and each container's port is
published on 127.0.0.1: an app that listened on its own loopback only would
fail here as it would in a pod."""
import json
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
# The Makefile runs this under scripts/with-test-mariadb.sh: the project's configuration is in the environment.
ENV = dict(os.environ)
RUN_DIR = Path(ENV["RUN_DIR"]) / "test-images"
PODMAN = str(ROOT / "scripts/podman.sh")
MARIADB_SCRIPT = str(ROOT / "scripts/mariadb.sh")
# Its private MariaDB (MARIADB_DIR, DB_HOST, DB_PORT), table empty: scripts/with-test-mariadb.sh.
DB_ENV = ENV
NETWORK = "slirp4netns:allow_host_loopback=true"
HOST_FROM_CONTAINER = "10.0.2.2"
LOCAL_VARIANT = ROOT / "mesh/variants/local-smi-trafficsplit"
SECRETS_DIR = ROOT / "mesh/secrets"
# Bounded waits: a container answers /healthz within this, or the test fails naming it.
START_TIMEOUT_S = 60
CONTAINER_PREFIX = "so1-test-images-"


def podman(*args, check=True, timeout=120):
    return subprocess.run([PODMAN, *args], capture_output=True, text=True, check=check, timeout=timeout)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def http(method, url, body=None, headers=None, timeout=5):
    """(status, headers, body bytes) of one request; HTTP errors are answers too."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


class Database:
    def sql(self, statement):
        return subprocess.run([MARIADB_SCRIPT, "sql"], input=statement, env=DB_ENV, text=True,
                              capture_output=True, check=True).stdout

    def secrets(self):
        """{Secret name: its keys and values}, as the pods get them through envFrom, for
        containers on slirp4netns; the keys are the templates' of mesh/secrets/."""
        values = {"DB_HOST": HOST_FROM_CONTAINER, "DB_PORT": DB_ENV["DB_PORT"], "DB_USER": DB_ENV["DB_USER"],
                  "DB_PASSWORD": DB_ENV["DB_PASSWORD"], "DB_NAME": DB_ENV["DB_NAME"],
                  "DB_MIGRATE_USER": DB_ENV["DB_MIGRATE_USER"], "DB_MIGRATE_PASSWORD": DB_ENV["DB_MIGRATE_PASSWORD"],
                  "DB_READ_USER": DB_ENV["DB_READ_USER"], "DB_READ_PASSWORD": DB_ENV["DB_READ_PASSWORD"],
                  "INGEST_TOKEN": DB_ENV["INGEST_TOKEN"]}
        secrets = {}
        for template in sorted(SECRETS_DIR.glob("*.env.template")):
            # KEY= takes the variable KEY's value, KEY=VARIABLE that variable's (create-secrets.sh).
            sources = dict(line.split("=", 1) for line in template.read_text().splitlines()
                           if line and not line.startswith("#"))
            sources = {key: source or key for key, source in sources.items()}
            unknown = set(sources.values()) - set(values)
            assert not unknown, f"{template.name} names variables this test cannot fill: {sorted(unknown)}"
            secrets[template.name.removesuffix(".env.template")] = {key: values[source]
                                                                    for key, source in sources.items()}
        return secrets


@pytest.fixture(scope="session")
def database():
    assert "MARIADB_DIR" in DB_ENV, "run through the Makefile: scripts/with-test-mariadb.sh starts the database"
    return Database()


@pytest.fixture(scope="session")
def images():
    """NAME -> image reference, as scripts/images.sh tagged them."""
    out = subprocess.run([str(ROOT / "scripts/images.sh"), "list"], capture_output=True, text=True, check=True).stdout
    listed = dict(line.split() for line in out.splitlines())
    for name, image in listed.items():
        assert podman("image", "exists", image, check=False).returncode == 0, \
            f"{image} is not built: run scripts/images.sh build (the Makefile does)"
    return listed


@pytest.fixture(scope="session")
def rendered_local():
    """Every object of the local variant, rendered by kustomize as kubectl applies it."""
    tools = subprocess.run([str(ROOT / "mesh/tests/k8s-tools.sh")], capture_output=True, text=True, check=True)
    kubectl = Path(tools.stdout.strip()) / "kubectl"
    out = subprocess.run([str(kubectl), "kustomize", str(LOCAL_VARIANT)], capture_output=True, text=True,
                         check=True).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


class Container:
    """One running container with the settings of its deployment."""

    def __init__(self, name, image, *, env, user=None, read_only=True, cap_drop=("ALL",), cap_add=(),
                 no_new_privileges=True, tmpfs=(), volumes=(), grace_s=30, port=8080, host_port=None):
        self.name = CONTAINER_PREFIX + name
        self.image = image
        self.grace_s = grace_s
        self.host_port = host_port or free_port()
        self.url = f"http://127.0.0.1:{self.host_port}"
        podman("rm", "--force", "--ignore", self.name)
        args = ["run", "--detach", "--name", self.name, "--network", NETWORK,
                "--publish", f"127.0.0.1:{self.host_port}:{port}", "--stop-timeout", str(grace_s)]
        if user is not None:
            args += ["--user", user]
        if read_only:
            args.append("--read-only")
        args += [arg for cap in cap_drop for arg in ("--cap-drop", cap)]
        args += [arg for cap in cap_add for arg in ("--cap-add", cap)]
        if no_new_privileges:
            args += ["--security-opt", "no-new-privileges"]
        args += [arg for mount in tmpfs for arg in ("--tmpfs", mount)]
        args += [arg for volume in volumes for arg in ("--volume", volume)]
        args += [arg for key, value in env.items() for arg in ("--env", f"{key}={value}")]
        podman(*args, image)

    def logs(self):
        result = podman("logs", self.name, check=False)
        return (result.stdout + result.stderr)[-4000:]

    def state(self):
        return json.loads(podman("inspect", "--format", "{{json .State}}", self.name).stdout)

    def wait_answers(self, path="/healthz", want=200):
        deadline = time.monotonic() + START_TIMEOUT_S
        last = "no answer"
        while time.monotonic() < deadline:
            if not self.state()["Running"]:
                raise AssertionError(f"{self.name} exited ({self.state()['ExitCode']}):\n{self.logs()}")
            try:
                status, _, body = http("GET", self.url + path, timeout=2)
                if status == want:
                    return body
                last = f"{status} {body[:200]!r}"
            except OSError as error:
                last = str(error)
            time.sleep(0.25)
        raise AssertionError(f"{self.name}: GET {path} did not answer {want} within {START_TIMEOUT_S} s "
                             f"(last: {last}):\n{self.logs()}")

    def stop(self):
        """podman stop: SIGTERM, then SIGKILL after the grace period. Returns (seconds, exit code)."""
        started = time.monotonic()
        podman("stop", "--time", str(self.grace_s), self.name, timeout=self.grace_s + 30)
        return time.monotonic() - started, self.state()["ExitCode"]

    def remove(self):
        podman("rm", "--force", "--ignore", self.name, check=False)


def deployment_container(rendered, name, image, secrets, env_overrides=None):
    """A Container with the settings of Deployment `name` of the rendered variant,
    with `env_overrides` for what a deploy script sets per deployment."""
    (deployment,) = [o for o in rendered if o["kind"] == "Deployment" and o["metadata"]["name"] == name]
    pod = deployment["spec"]["template"]["spec"]
    (spec,) = pod["containers"]
    context = {**pod.get("securityContext", {}), **spec.get("securityContext", {})}
    config_maps = {o["metadata"]["name"]: o.get("data", {}) for o in rendered if o["kind"] == "ConfigMap"}
    env = {}
    for source in spec.get("envFrom", []):
        secret = source.get("secretRef", {}).get("name")
        assert secret in secrets, f"{name}: envFrom names no Secret of mesh/secrets/: {source}"
        env.update(secrets[secret])
    for item in spec.get("env", []):
        if "value" in item:
            env[item["name"]] = item["value"]
        else:
            ref = item["valueFrom"]["configMapKeyRef"]
            env[item["name"]] = config_maps[ref["name"]][ref["key"]]
    env.update(env_overrides or {})
    user = None
    if "runAsUser" in context:
        user = f"{context['runAsUser']}:{context.get('runAsGroup', 0)}"
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    tmpfs = []
    for mount in spec.get("volumeMounts", []):
        volume = volumes[mount["name"]]
        assert "emptyDir" in volume, f"{name}: only emptyDir volumes are run here, not {volume}"
        size = volume["emptyDir"].get("sizeLimit", "64Mi").replace("Mi", "m")
        tmpfs.append(f"{mount['mountPath']}:rw,size={size},mode=1777")
    (http_port,) = [p["containerPort"] for p in spec["ports"] if p["name"] == "http"]
    container = Container(
        name, image, env=env, user=user, read_only=context.get("readOnlyRootFilesystem", False),
        cap_drop=context.get("capabilities", {}).get("drop", []), cap_add=context.get("capabilities", {}).get("add", []),
        no_new_privileges=context.get("allowPrivilegeEscalation") is False, tmpfs=tmpfs,
        grace_s=pod.get("terminationGracePeriodSeconds", 30), port=http_port)
    container.run_as_non_root = context.get("runAsNonRoot", False)
    container.user = user
    container.readiness_path = spec["readinessProbe"]["httpGet"]["path"]
    container.liveness_path = spec["livenessProbe"]["httpGet"]["path"]
    return container


AGENT_CARNET = "202000000"
AGENT_BUSY_SHARE = 0.3


@pytest.fixture(scope="session")
def fake_proc():
    """The agent's fixture /proc tree with the modules' files (go-agent/testdata/module), whose CPU
    counters advance every 100 ms at AGENT_BUSY_SHARE busy, as the cpu_ module's do on a live VM."""
    root = RUN_DIR / "proc"
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(ROOT / "go-agent/testdata/module", root)
    cpu_file = root / f"cpu_{AGENT_CARNET}"
    cpu = json.loads(cpu_file.read_text())
    stop = threading.Event()

    def advance():
        step = 100_000_000 * cpu["cpus"]
        while not stop.wait(0.1):
            cpu["total_ns"] += step
            cpu["busy_ns"] += int(step * AGENT_BUSY_SHARE)
            cpu["idle_ns"] += step - int(step * AGENT_BUSY_SHARE)
            tmp = root / ".cpu.tmp"
            tmp.write_text(json.dumps(cpu) + "\n")
            tmp.rename(cpu_file)

    thread = threading.Thread(target=advance, daemon=True)
    thread.start()
    yield root
    stop.set()
    thread.join()


@pytest.fixture(scope="session")
def started(images, database, rendered_local, fake_proc):
    """Every image running at once; ws-server's and the dashboard's tests need the routes and each other."""
    secrets = database.secrets()
    containers = {}
    dashboard_port = free_port()
    # As scripts/cluster-up.sh does, ws-server's CORS_ORIGINS names the dashboard's own origin.
    overrides = {"ws-server": {"CORS_ORIGINS": f"http://127.0.0.1:{dashboard_port}"}}
    try:
        for name in ("route1-python", "route2-node", "ws-server"):
            containers[name] = deployment_container(rendered_local, name, images[f"so1-{name}"], secrets,
                                                    overrides.get(name))
        # The agent as scripts/vm-setup.sh runs it (docker stop's 10 s), on the fake /proc tree.
        containers["agent"] = Container(
            "agent", images["so1-agent"], grace_s=10,
            env={"AGENT_ADDR": ":8080", "AGENT_CARNET": AGENT_CARNET, "AGENT_PROC_ROOT": "/host/proc",
                 "AGENT_REQUIRE_MODULES": "true"},
            volumes=[f"{fake_proc}:/host/proc:ro"])
        # The dashboard as its Cloud Run service declares it, proxying /socket.io/ to ws-server.
        service = yaml.safe_load((ROOT / "web-dashboard/cloudrun/service.yaml").read_text())
        (spec,) = service["spec"]["template"]["spec"]["containers"]
        env = {item["name"]: item["value"] for item in spec.get("env", [])}
        assert "WS_UPSTREAM" in env, "the Cloud Run service no longer sets WS_UPSTREAM"
        env["WS_UPSTREAM"] = f"http://{HOST_FROM_CONTAINER}:{containers['ws-server'].host_port}"
        # Cloud Run sends SIGTERM and kills 10 s later.
        containers["web-dashboard"] = Container("web-dashboard", images["so1-web-dashboard"], env=env, grace_s=10,
                                                host_port=dashboard_port)
        yield containers
    finally:
        for container in containers.values():
            container.remove()
