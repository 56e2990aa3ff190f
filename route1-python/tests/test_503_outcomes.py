"""What a 503 promises, checked once the database answers again: every id answered
201 is stored once, every id answered "nothing was stored" is absent, and every id
whose outcome was unknown is stored once after the client retried it unchanged.
With the database frozen (SIGSTOP) for 3 s, and with latency between the route and
the database (tests/latency_proxy.py)."""
import os
import signal
import threading
import time
import uuid
from pathlib import Path

import pytest

from conftest import Client, Service, example
from latency_proxy import LatencyProxy
from route1.storage import NOTHING_STORED, OUTCOME_UNKNOWN

FREEZE_S = 3.0
# More than the traffic's clients: requests sent while frozen then find idle pooled
# connections and their statements reach the server (a new connection would wait
# for the server's greeting and send nothing).
IDLE_CONNECTIONS = 12
# Longer than any single database call's timeout (1 s) and the 2 s answer.
LATE_COMMIT_ANSWER_S = 3.0


def until(what, timeout_s, condition):
    """Polls `condition` every 50 ms until it holds; fails after `timeout_s`, naming what it waited for."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"waited {timeout_s} s for {what}"
        time.sleep(0.05)


def records(count):
    return [dict(example("valid/with-id.json"), id=str(uuid.uuid4())) for _ in range(count)]


class Traffic:
    """`clients` threads, each posting one record then a batch of 5, fresh ids, until stop()."""

    def __init__(self, url, clients=4):
        self.answers = []
        self._running = True
        self._threads = [threading.Thread(target=self._loop, args=(url,)) for _ in range(clients)]
        for thread in self._threads:
            thread.start()

    def _loop(self, url):
        with Client(base_url=url, timeout=10) as http:
            n = 0
            while self._running:
                batch = records(5 if n % 2 else 1)
                body = batch if len(batch) > 1 else batch[0]
                sent_at = time.monotonic()
                response = http.post_json(body)
                self.answers.append({"body": body, "ids": [r["id"] for r in batch], "sent_at": sent_at,
                                     "answered_at": time.monotonic(), "status": response.status_code,
                                     "message": response.json().get("message")})
                n += 1

    def sent_since(self, moment, status):
        return any(a["status"] == status and a["sent_at"] > moment for a in self.answers)

    def stop(self):
        self._running = False
        for thread in self._threads:
            thread.join()


def until_server_quiet(database):
    """Until no other connection of the routes' user runs a statement, on two polls in a
    row: statements a route gave up on may still be in the server's hands."""
    quiet_polls = [0]

    def quiet():
        busy = database.sql("SELECT COUNT(*) FROM information_schema.PROCESSLIST "
                            "WHERE ID <> CONNECTION_ID() AND COMMAND <> 'Sleep'")[0][0]
        quiet_polls[0] = quiet_polls[0] + 1 if busy == 0 else 0
        return quiet_polls[0] >= 2

    until("no statement running on the server but the poll", 10, quiet)


def count_ids(database, ids):
    if not ids:
        return 0
    return database.count("record_id IN ({})".format(",".join(f"'{i}'" for i in ids)))


def assert_outcomes(url, answers, database):
    """Checks what every answer promised; returns how many answers of each kind there were
    and the slowest answer's seconds."""
    for answer in answers:
        assert answer["status"] in (201, 503), answer
        if answer["status"] == 503:
            assert answer["message"] in (NOTHING_STORED, OUTCOME_UNKNOWN), answer["message"]
    unknown = [a for a in answers if a["message"] == OUTCOME_UNKNOWN]
    with Client(base_url=url, timeout=10) as http:
        for answer in unknown:
            deadline = time.monotonic() + 10
            while (retry := http.post_json(answer["body"])).status_code != 201:
                assert time.monotonic() < deadline, "waited 10 s for a 201 for the retry of an unknown outcome"
                time.sleep(0.05)
            body = retry.json()
            assert body["stored"] + body["duplicates"] == len(answer["ids"])
    created = [a for a in answers if a["status"] == 201]
    refused = [a for a in answers if a["message"] == NOTHING_STORED]
    stored = [i for a in created + unknown for i in a["ids"]]
    absent = [i for a in refused for i in a["ids"]]
    assert count_ids(database, stored) == len(stored), "an id answered 201 (or retried) is missing or stored twice"
    assert count_ids(database, absent) == 0, 'an id answered "nothing was stored" is stored'
    return {"created": len(created), "nothing_stored": len(refused), "outcome_unknown": len(unknown),
            "slowest_s": round(max(a["answered_at"] - a["sent_at"] for a in answers), 3)}


def test_frozen_3_s_under_traffic_every_answer_keeps_its_promise(service, database):
    pid = int((Path(database.env["MARIADB_DIR"]) / "mysqld.pid").read_text())
    warm_up = []

    def post_one():
        with Client(base_url=service.url, timeout=10) as http:
            warm_up.append(http.post_json(records(1)[0]).status_code)

    threads = [threading.Thread(target=post_one) for _ in range(IDLE_CONNECTIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert warm_up == [201] * IDLE_CONNECTIONS
    traffic = Traffic(service.url)
    try:
        until("a 201 before the freeze", 5, lambda: any(a["status"] == 201 for a in traffic.answers))
        os.kill(pid, signal.SIGSTOP)
        frozen_at = time.monotonic()
        try:
            until("a 503 for a request sent while frozen", FREEZE_S,
                  lambda: traffic.sent_since(frozen_at, 503))
            time.sleep(max(0.0, FREEZE_S - (time.monotonic() - frozen_at)))
        finally:
            os.kill(pid, signal.SIGCONT)
        resumed_at = time.monotonic()
        until("a 201 for a request sent after SIGCONT", 15, lambda: traffic.sent_since(resumed_at, 201))
    finally:
        traffic.stop()
    until_server_quiet(database)
    print("answers:", assert_outcomes(service.url, traffic.answers, database))


@pytest.fixture(scope="module")
def proxied(database):
    """The route with a latency proxy between it and the tests' database."""
    proxy = LatencyProxy(int(database.env["DB_PORT"]))
    running = Service(extra_env={"DB_PORT": str(proxy.port)}, name="route1-latency")
    yield proxy, running
    running.stop()
    proxy.close()


@pytest.mark.parametrize("size", [1, 3])
def test_a_commit_answered_too_late_is_an_unknown_outcome_and_the_retry_a_duplicate(proxied, database, size):
    proxy, running = proxied
    batch = records(size)
    body = batch if size > 1 else batch[0]
    with Client(base_url=running.url, timeout=10) as http:
        proxy.commit_answer_delay_s = LATE_COMMIT_ANSWER_S
        try:
            answer = http.post_json(body)
        finally:
            proxy.commit_answer_delay_s = 0.0
        assert answer.status_code == 503, answer.text
        assert answer.json() == {"error": "database_unavailable", "message": OUTCOME_UNKNOWN}
        proxy.wait_drained()
        until_server_quiet(database)
        assert count_ids(database, [r["id"] for r in batch]) == size
        retry = http.post_json(body)
        assert retry.status_code == 201, retry.text
        assert retry.json() == {"stored": 0, "duplicates": size, "route": "python"}


def test_latency_under_traffic_every_answer_keeps_its_promise(proxied, database):
    proxy, running = proxied
    traffic = Traffic(running.url)
    try:
        until("a 201 without added latency", 10, lambda: any(a["status"] == 201 for a in traffic.answers))
        proxy.delay_s = 0.3
        since = time.monotonic()
        until("4 answers to requests sent with 0.3 s each way", 15,
              lambda: sum(a["sent_at"] > since for a in traffic.answers) >= 4)
        proxy.delay_s = 0.6
        since = time.monotonic()
        until("a 503 for a request sent with 0.6 s each way", 10, lambda: traffic.sent_since(since, 503))
        proxy.delay_s = 0.0
        restored_at = time.monotonic()
        until("a 201 for a request sent once the latency is gone", 15, lambda: traffic.sent_since(restored_at, 201))
    finally:
        traffic.stop()
    proxy.wait_drained()
    until_server_quiet(database)
    print("answers:", assert_outcomes(running.url, traffic.answers, database))
