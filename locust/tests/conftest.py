"""A recording HTTP server standing in for the agent and the ingress.

Not a mock of their logic: these tests are about Locust's side (what is sent,
how often, what is saved), which only a server that counts every request can
check. The real agent, routes and nginx are exercised by tests/e2e.
"""

import json
import os
import pathlib
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLE_RECORD = json.loads((ROOT / "contracts/examples/valid/spec-example.json").read_text())
# The token the replays started by these tests inherit, and the recorder demands.
os.environ["INGEST_TOKEN"] = "locust-tests-token"
AUTHORIZATION = "Bearer locust-tests-token"


class Recorder(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.lock = threading.Lock()
        self.posts = Counter()  # id -> POSTs received
        self.accepted = Counter()  # id -> 201s sent
        self.routes = Counter()
        self.fail_first_attempt_every = 0  # answer 503 to the first POST of every n-th id
        self.drop_first_attempt = False  # close the connection, unanswered, on every id's first POST
        self.agent_down = False  # answer 500 to every GET
        self.seen = 0
        self.unauthorized = 0  # POSTs without the deployment's bearer token, answered 401
        self.served = 0  # 200 answers to GET /api/metrics: records handed out

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body, headers=()):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path != "/api/metrics":
            return self.answer(404, {"error": "not_found"})
        if self.server.agent_down:
            return self.answer(500, {"error": "internal_error"})
        with self.server.lock:
            self.server.served += 1
        self.answer(200, dict(EXAMPLE_RECORD, fuente="recorder"))

    def do_POST(self):
        server = self.server
        record = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.headers.get("Authorization") != AUTHORIZATION:
            with server.lock:
                server.unauthorized += 1
            return self.answer(401, {"error": "unauthorized", "message": "no token"})
        with server.lock:
            record_id = record["id"]
            server.posts[record_id] += 1
            if server.posts[record_id] == 1:
                server.seen += 1
            fail = (server.fail_first_attempt_every and server.posts[record_id] == 1
                    and server.seen % server.fail_first_attempt_every == 0)
            drop = server.drop_first_attempt and server.posts[record_id] == 1
            route = "python" if sum(server.routes.values()) % 2 == 0 else "node"
            server.routes[route] += 1
            if not fail and not drop:
                server.accepted[record_id] += 1
        if drop:  # a connection reset before any answer: no status, no headers
            self.close_connection = True
            return self.connection.shutdown(2)
        if fail:
            return self.answer(503, {"error": "database_unavailable", "message": "test outage"},
                               [("X-Route", route), ("Retry-After", "1")])
        self.answer(201, {"stored": 1, "duplicates": 0, "route": route}, [("X-Route", route)])


@pytest.fixture
def recorder():
    server = Recorder()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
