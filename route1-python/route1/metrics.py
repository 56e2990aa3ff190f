"""The Prometheus names of contracts/ingest-api.yaml. With several uvicorn
workers, prometheus_client's multiprocess mode (PROMETHEUS_MULTIPROC_DIR, set
by the launcher before any worker starts) sums the workers' values."""
import os

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import REGISTRY as DEFAULT_REGISTRY
from prometheus_client import multiprocess

from . import ROUTE_NAME

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)

REQUEST_DURATION = Histogram(
    "ingest_http_request_duration_seconds", "Duration of every HTTP request.",
    ["route", "method", "path", "status"], buckets=BUCKETS)
RECORDS = Counter(
    "ingest_records", "Records received, by outcome (records, not requests).",
    ["route", "outcome"])

# The label set is small (methods x known paths x statuses): children are kept
# rather than looked up under the metric's lock on every request.
_DURATION_CHILDREN = {}


def request_duration(method, path, status):
    key = (method, path, status)
    child = _DURATION_CHILDREN.get(key)
    if child is None:
        child = _DURATION_CHILDREN[key] = REQUEST_DURATION.labels(ROUTE_NAME, method, path, status)
    return child


# Set by every /readyz check; with several workers, the newest check's value.
DATABASE_UP = Gauge(
    "ingest_database_up", "1 when the route's last readiness check reached the database, else 0.",
    ["route"], multiprocess_mode="mostrecent").labels(ROUTE_NAME)

UNAUTHORIZED = Counter(
    "ingest_unauthorized_requests", "Requests refused with 401: no bearer token, or not INGEST_TOKEN.",
    ["route"]).labels(ROUTE_NAME)

STORED = RECORDS.labels(ROUTE_NAME, "stored")
DUPLICATE = RECORDS.labels(ROUTE_NAME, "duplicate")
REJECTED = RECORDS.labels(ROUTE_NAME, "rejected")


def exposition():
    """(body, content type) of GET /metrics."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = DEFAULT_REGISTRY
    return generate_latest(registry), CONTENT_TYPE_LATEST
