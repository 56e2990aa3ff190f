"""The HTTP service of contracts/ingest-api.yaml.

The body of POST /api/metrics is read raw, so that 415, 413 and 400 follow the
contract's order and shape rather than FastAPI's own validation errors."""
import json
import logging
import time
from contextlib import asynccontextmanager

import anyio
from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from . import ROUTE_NAME, jsontext, logs, metrics, storage
from .auth import BearerToken
from .config import from_env
from .validation import RecordValidator

MAX_BODY_BYTES = 1024 * 1024
RETRY_AFTER_S = "2"
DB_QUEUE_WAIT_S = 0.5
KNOWN_PATHS = {"/api/metrics", "/healthz", "/readyz", "/metrics"}
# Labels come from a closed set, or any client could grow the metrics without bound.
KNOWN_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

ROUTE_HEADER = (b"x-route", ROUTE_NAME.encode())

log = logging.getLogger("route1")
access_log = logging.getLogger("route1.access")


def json_response(status, body, headers=None):
    return Response(json.dumps(body, separators=(",", ":")), status_code=status,
                    media_type="application/json", headers=headers)


def error_response(status, code, message, problems=None, headers=None):
    body = {"error": code, "message": message}
    if problems is not None:
        body["problems"] = problems
    return json_response(status, body, headers)


class BodyTooLarge(Exception):
    pass


async def read_body(request):
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise BodyTooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def is_json_media_type(content_type):
    return content_type is not None and content_type.split(";", 1)[0].strip().lower() == "application/json"


def count_records(body):
    return len(body) if isinstance(body, list) else 1


def create_app(settings=None):
    settings = settings or from_env()
    logs.configure(settings.log_level)
    validator = RecordValidator.from_file(settings.record_schema)
    ingest_token = BearerToken(settings.ingest_token)
    engine = storage.make_engine(settings)
    # DB work runs in threads; at most one per pooled connection, the rest wait here.
    state = {}

    @asynccontextmanager
    async def lifespan(_app):
        state["db_threads"] = anyio.CapacityLimiter(settings.db_pool_size)
        # Threads are bounded by db_threads already; this one never makes anyone wait.
        state["one_thread_each"] = anyio.CapacityLimiter(settings.db_pool_size)
        log.info("started", extra={"fields": {"db_host": settings.db_host, "db_port": settings.db_port,
                                              "db_name": settings.db_name, "pool_size": settings.db_pool_size}})
        yield
        engine.dispose()

    app = FastAPI(title="route1-python", lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None)

    async def in_db_thread(function, *args):
        """Runs the database work in a thread, after waiting at most DB_QUEUE_WAIT_S
        for one: with a hung database every thread waits out its timeouts, and
        the requests queued behind them must still be answered within 2 s."""
        limiter = state["db_threads"]
        # Only the wait is bounded: work once started runs to its end, or a
        # commit could be answered with a 503.
        with anyio.move_on_after(DB_QUEUE_WAIT_S) as waiting:
            await limiter.acquire()
        if waiting.cancelled_caught:
            raise storage.DatabaseUnavailable(f"no database thread free within {DB_QUEUE_WAIT_S} s")
        try:
            return await anyio.to_thread.run_sync(function, *args, limiter=state["one_thread_each"])
        finally:
            limiter.release()

    async def store_metrics(request: Request):
        if not ingest_token.admits(request.headers.get("authorization")):
            metrics.UNAUTHORIZED.inc()
            return error_response(401, "unauthorized", "Send Authorization: Bearer <the deployment's INGEST_TOKEN>.",
                                  headers={"WWW-Authenticate": "Bearer"})
        if not is_json_media_type(request.headers.get("content-type")):
            metrics.REJECTED.inc()
            return error_response(415, "unsupported_media_type", "Content-Type must be application/json.")
        try:
            raw = await read_body(request)
        except BodyTooLarge:
            metrics.REJECTED.inc()
            return error_response(413, "payload_too_large",
                                  f"The body is over {MAX_BODY_BYTES} bytes (1 MiB).")
        try:
            body = jsontext.parse(raw)
        except jsontext.LimitExceeded as error:
            metrics.REJECTED.inc()
            return error_response(400, error.code, str(error))
        except ValueError as error:
            metrics.REJECTED.inc()
            return error_response(400, "malformed_json", f"The body is not valid JSON: {error}")
        problems = validator.body_problems(body)
        records = body if isinstance(body, list) else [body]
        if not problems:
            try:
                rows = [storage.to_row(record, f"/{index}" if isinstance(body, list) else "")
                        for index, record in enumerate(records)]
            except storage.NotACalendarTime as error:
                problems = [{"field": error.pointer, "problem": "pattern"}]
        if problems:
            metrics.REJECTED.inc(count_records(body))
            return error_response(422, "invalid_record", "The body does not match the record schema.",
                                   problems)
        try:
            stored, duplicates = await in_db_thread(storage.store, engine, rows)
        except storage.DatabaseUnavailable as error:
            log.warning("database unavailable", extra={"fields": {"reason": str(error),
                                                                  "records": len(rows)}})
            return error_response(503, "database_unavailable", error.client_message,
                                  headers={"Retry-After": RETRY_AFTER_S})
        if stored:
            metrics.STORED.inc(stored)
        if duplicates:
            metrics.DUPLICATE.inc(duplicates)
        return json_response(201, {"stored": stored, "duplicates": duplicates, "route": ROUTE_NAME})

    # The hot path is a plain Starlette route of the FastAPI app: it takes the raw
    # request anyway, and FastAPI's dependency resolution per call costs CPU for nothing.
    app.router.add_route("/api/metrics", store_metrics, methods=["POST"])

    @app.get("/healthz")
    async def health():
        return json_response(200, {"status": "ok"})

    @app.get("/readyz")
    async def ready():
        try:
            up, reason = await in_db_thread(storage.database_answers, engine)
        except storage.DatabaseUnavailable as error:
            up, reason = False, str(error)
        metrics.DATABASE_UP.set(1 if up else 0)
        # Ready either way: a route whose database is down stays in rotation and answers
        # the contract's 503 with Retry-After itself, so that no balancer is left without one.
        if up:
            return json_response(200, {"status": "ok", "database": "up"})
        return json_response(200, {"status": "ok", "database": "down", "reason": reason})

    @app.get("/metrics")
    async def prometheus_metrics():
        body, content_type = metrics.exposition()
        return Response(body, media_type=content_type)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request, error):
        if error.status_code == 404:
            return error_response(404, "not_found", "No such path.")
        if error.status_code == 405:
            return error_response(405, "not_found", "This path does not answer that method.",
                                  headers=error.headers)
        return error_response(error.status_code, "internal_error", str(error.detail))

    @app.exception_handler(Exception)
    async def unexpected_error(_request, error):
        log.error("unexpected error", exc_info=error)
        return error_response(500, "internal_error", "Internal error; nothing was stored.")

    return RouteHeaderAndMetrics(app)


class RouteHeaderAndMetrics:
    """Outermost ASGI layer: X-Route on every response (also Starlette's own
    500s), the request-duration histogram, and one JSON access line."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status_holder = [500]

        async def send_with_route(message):
            if message["type"] == "http.response.start":
                status_holder[0] = message["status"]
                message["headers"] = [*message.get("headers", ()), ROUTE_HEADER]
            await send(message)

        try:
            await self.app(scope, receive, send_with_route)
        finally:
            elapsed = time.perf_counter() - started
            path = scope["path"] if scope["path"] in KNOWN_PATHS else "unmatched"
            status = str(status_holder[0])
            method = scope["method"] if scope["method"] in KNOWN_METHODS else "other"
            metrics.request_duration(method, path, status).observe(elapsed)
            # One line per request only at debug level: at the replay's rate
            # the metrics above say the same for a fraction of the CPU.
            if access_log.isEnabledFor(logging.DEBUG):
                access_log.debug("request", extra={"fields": {
                    "method": method, "path": path, "status": status_holder[0],
                    "duration_ms": round(elapsed * 1000, 3)}})
