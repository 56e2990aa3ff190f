"""Storing valid records: one transaction per request, all or nothing, and
the unique key uq_metric_records_record_id deciding what is a duplicate."""
import logging
import time
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import create_engine, event, insert, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session

from . import ROUTE_NAME
from .models import MetricRecord

log = logging.getLogger("route1.storage")

ER_DUP_ENTRY = 1062
ER_LOCK_WAIT_TIMEOUT = 1205
ER_LOCK_DEADLOCK = 1213
TRANSIENT = {ER_LOCK_WAIT_TIMEOUT, ER_LOCK_DEADLOCK}
ATTEMPTS = 3

# Every database call is bounded, so that a dead or hung database gives a 503
# within about 2 s instead of a hanging request.
CONNECT_TIMEOUT_S = 1
READ_TIMEOUT_S = 2
WRITE_TIMEOUT_S = 2
POOL_TIMEOUT_S = 1

CENT = Decimal("0.01")
PERCENT_FIELDS = ("porcentaje_ram", "porcentaje_cpu_uso", "porcentaje_cpu_libre")
INTEGER_FIELDS = ("total_ram", "ram_libre", "uso_ram", "procesos_corriendo", "total_procesos",
                  "procesos_durmiendo", "procesos_zombie", "procesos_parados")


class DatabaseUnavailable(Exception):
    """The database could not be reached or did not answer in time; nothing was stored."""


class NotACalendarTime(ValueError):
    """`hora` matches the contract's pattern but names no real time (e.g. 2025-02-30)."""

    def __init__(self, pointer):
        super().__init__(pointer)
        self.pointer = pointer


def make_engine(settings):
    url = URL.create("mysql+pymysql", username=settings.db_user, password=settings.db_password,
                     host=settings.db_host, port=settings.db_port, database=settings.db_name)
    engine = create_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=0,
        pool_timeout=POOL_TIMEOUT_S,
        # A connection that died with the database is found and replaced at checkout,
        # so the service recovers by itself when the database returns.
        pool_pre_ping=True,
        pool_recycle=1800,
        connect_args={
            "connect_timeout": CONNECT_TIMEOUT_S,
            "read_timeout": READ_TIMEOUT_S,
            "write_timeout": WRITE_TIMEOUT_S,
            "charset": "utf8mb4",
        },
    )

    @event.listens_for(engine, "connect")
    def utc_session(dbapi_connection, _record):
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET time_zone = '+00:00'")

    return engine


def _percent(value):
    # Decimal(str(float)) keeps the shortest text of the JSON number, the one the
    # client sent; the column holds two decimals, rounded half away from zero.
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def to_row(record, pointer):
    """A validated record as the table's columns."""
    try:
        hora = datetime.strptime(record["hora"], "%Y-%m-%d %H:%M:%S")
    except ValueError:
        raise NotACalendarTime(f"{pointer}/hora") from None
    row = {name: int(record[name]) for name in INTEGER_FIELDS}
    row.update({name: _percent(record[name]) for name in PERCENT_FIELDS})
    row.update(record_id=record.get("id"), route=ROUTE_NAME, hora=hora)
    return row


def _error_code(error):
    orig = getattr(error, "orig", None)
    args = getattr(orig, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def _insert_rows(session, rows):
    """Inserts inside the caller's transaction; returns how many rows were new.

    First one multi-row INSERT (the common case: no duplicate). When the unique
    key refuses it, InnoDB rolls back only that statement, and the rows are then
    inserted one by one, each refusal being a duplicate."""
    try:
        session.execute(insert(MetricRecord), rows)
        return len(rows)
    except IntegrityError as error:
        if _error_code(error) != ER_DUP_ENTRY:
            raise
        if len(rows) == 1:
            return 0
    stored = 0
    for row in rows:
        try:
            session.execute(insert(MetricRecord), [row])
            stored += 1
        except IntegrityError as error:
            if _error_code(error) != ER_DUP_ENTRY:
                raise
    return stored


def store(engine, rows):
    """Stores the rows all or nothing; returns (stored, duplicates) after the commit.

    Raises DatabaseUnavailable when the database cannot be reached in time."""
    attempt = 0
    while True:
        attempt += 1
        try:
            with Session(engine) as session, session.begin():
                stored = _insert_rows(session, rows)
            return stored, len(rows) - stored
        except PoolTimeout as error:
            raise DatabaseUnavailable("no database connection free in time") from error
        except DBAPIError as error:
            code = _error_code(error)
            if code in TRANSIENT and attempt < ATTEMPTS:
                log.warning("transaction retried", extra={"fields": {"mysql_error": code, "attempt": attempt}})
                time.sleep(0.01 * attempt)
                continue
            if isinstance(error, (OperationalError, InterfaceError)) or error.connection_invalidated:
                raise DatabaseUnavailable(str(error.orig)) from error
            raise


def database_answers(engine):
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True, None
    except (DBAPIError, PoolTimeout) as error:
        return False, str(getattr(error, "orig", error))
