"""Storing valid records: one transaction per request, all or nothing, and
the unique key uq_metric_records_record_id deciding what is a duplicate."""
import logging
import time
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

import pymysql
from sqlalchemy import create_engine, event, insert, text
from sqlalchemy.dialects.mysql import pymysql as pymysql_dialect
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

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
READ_TIMEOUT_S = 1
WRITE_TIMEOUT_S = 1
POOL_TIMEOUT_S = 1
# How long a request keeps replacing connections found dead (the pool's stale
# connections after a database restart fail at once, one by one).
RECONNECT_WINDOW_S = 0.5

CENT = Decimal("0.01")
PERCENT_FIELDS = ("porcentaje_ram", "porcentaje_cpu_uso", "porcentaje_cpu_libre")
INTEGER_FIELDS = ("total_ram", "ram_libre", "uso_ram", "procesos_corriendo", "total_procesos",
                  "procesos_durmiendo", "procesos_zombie", "procesos_parados")


# The 503's message, the same text in both routes (route 2: src/store.js).
NOTHING_STORED = "The database is unavailable; nothing was stored."
OUTCOME_UNKNOWN = ("The database did not confirm the commit: the records may have been stored. "
                   "Retry with the same ids; stored ones are then counted as duplicates.")


class DatabaseUnavailable(Exception):
    """The database could not be reached or did not answer in time: nothing was stored,
    unless `outcome_unknown` (COMMIT was sent and its answer never came)."""

    def __init__(self, reason, *, outcome_unknown=False):
        super().__init__(reason)
        self.outcome_unknown = outcome_unknown
        self.client_message = OUTCOME_UNKNOWN if outcome_unknown else NOTHING_STORED


class NotACalendarTime(ValueError):
    """`hora` matches the contract's pattern but names no real time (e.g. 2025-02-30)."""

    def __init__(self, pointer):
        super().__init__(pointer)
        self.pointer = pointer


def database_url(settings, *, user=None, password=None, unix_socket=None):
    """The database of `settings`, as `user`/`password` when given (the migrations' DDL user),
    through `unix_socket` instead of TCP when given."""
    return URL.create("mysql+pymysql", username=user or settings.db_user,
                      password=(password if user else settings.db_password) or None,
                      host=None if unix_socket else settings.db_host,
                      port=None if unix_socket else settings.db_port, database=settings.db_name,
                      query={"unix_socket": unix_socket} if unix_socket else {})


def make_engine(settings):
    engine = create_engine(
        database_url(settings),
        pool_size=settings.db_pool_size,
        max_overflow=0,
        pool_timeout=POOL_TIMEOUT_S,
        pool_recycle=1800,
        # Every transaction ends in an explicit commit or rollback (see _transaction).
        pool_reset_on_return=None,
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
    """A validated record as the table's columns (a dict keyed by column name)."""
    text = record["hora"]  # matched the contract's pattern: "YYYY-MM-DD HH:MM:SS"
    try:
        hora = datetime(int(text[0:4]), int(text[5:7]), int(text[8:10]),
                        int(text[11:13]), int(text[14:16]), int(text[17:19]))
    except ValueError:
        raise NotACalendarTime(f"{pointer}/hora") from None
    row = {name: int(record[name]) for name in INTEGER_FIELDS}
    row.update({name: _percent(record[name]) for name in PERCENT_FIELDS})
    row.update(record_id=record.get("id"), route=ROUTE_NAME, hora=hora)
    return row


# The INSERT is built by SQLAlchemy from the mapped class, once; each request
# runs it on a pooled connection with the driver's cursor. SQLAlchemy's
# per-statement machinery (Session unit of work, Connection.execute) costs
# about three times the driver's own CPU per single-row insert, which the
# benchmark's 0.8x-of-bare goal does not leave room for (see README.md).
_COMPILED_INSERT = insert(MetricRecord).compile(
    dialect=pymysql_dialect.dialect(),
    column_keys=["record_id", "route", *INTEGER_FIELDS, *PERCENT_FIELDS, "hora"])
INSERT_SQL = str(_COMPILED_INSERT)
INSERT_COLUMNS = tuple(_COMPILED_INSERT.positiontup)


def _error_code(error):
    args = getattr(error, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def _insert_rows(cursor, rows):
    """Inserts inside the caller's transaction; returns how many rows were new.

    First one multi-row INSERT (the common case: no duplicate). When the unique
    key refuses it, InnoDB rolls back only that statement, and the rows are then
    inserted one by one, each refusal being a duplicate."""
    values = [tuple(row[column] for column in INSERT_COLUMNS) for row in rows]
    try:
        if len(values) == 1:
            cursor.execute(INSERT_SQL, values[0])
        else:
            cursor.executemany(INSERT_SQL, values)
        return len(values)
    except pymysql.err.IntegrityError as error:
        if _error_code(error) != ER_DUP_ENTRY:
            raise
        if len(values) == 1:
            return 0
    stored = 0
    for value in values:
        try:
            cursor.execute(INSERT_SQL, value)
            stored += 1
        except pymysql.err.IntegrityError as error:
            if _error_code(error) != ER_DUP_ENTRY:
                raise
    return stored


class _LostBeforeCommit(Exception):
    """The connection failed before COMMIT was sent: the server rolled the
    transaction back, so running it again on another connection is safe."""


def _is_connection_error(error):
    return isinstance(error, (pymysql.err.OperationalError, pymysql.err.InterfaceError)) \
        and _error_code(error) not in TRANSIENT


def _is_unanswered(error):
    """The client gave up (timeout, connection lost: CR_* codes 2000-2999) rather than
    the server answering with an error: what the server did is unknown."""
    code = _error_code(error)
    return isinstance(error, pymysql.err.InterfaceError) or (code is not None and 2000 <= code < 3000)


def _transaction(engine, rows):
    connection = engine.raw_connection()
    committing = False
    try:
        with connection.cursor() as cursor:
            stored = _insert_rows(cursor, rows)
        committing = True
        connection.commit()
        return stored
    except BaseException as error:
        if _is_connection_error(error):
            # Unusable (e.g. the database restarted): drop it from the pool.
            connection.invalidate(error)
            if not committing:
                raise _LostBeforeCommit() from error
            if _is_unanswered(error):
                raise DatabaseUnavailable(str(error), outcome_unknown=True) from error
        else:
            try:
                connection.rollback()
            except pymysql.err.MySQLError as rollback_error:
                connection.invalidate(rollback_error)
        raise
    finally:
        connection.close()


def store(engine, rows):
    """Stores the rows all or nothing; returns (stored, duplicates) after the commit.

    Raises DatabaseUnavailable when the database cannot be reached in time.
    Connections are not pinged at checkout (a round trip on every request):
    one found dead before COMMIT is dropped and the transaction runs again on
    another, until RECONNECT_WINDOW_S has passed."""
    started = time.monotonic()
    attempt = 0
    while True:
        attempt += 1
        try:
            stored = _transaction(engine, rows)
            return stored, len(rows) - stored
        except PoolTimeout as error:
            raise DatabaseUnavailable("no database connection free in time") from error
        except DBAPIError as error:
            # Raised by the pool when it cannot open a connection.
            raise DatabaseUnavailable(str(error.orig)) from error
        except _LostBeforeCommit as lost:
            if time.monotonic() - started < RECONNECT_WINDOW_S:
                continue
            raise DatabaseUnavailable(str(lost.__cause__)) from lost.__cause__
        except (pymysql.err.OperationalError, pymysql.err.InterfaceError) as error:
            if _error_code(error) in TRANSIENT and attempt < ATTEMPTS:
                log.warning("transaction retried", extra={"fields": {"mysql_error": _error_code(error),
                                                                     "attempt": attempt}})
                time.sleep(0.01 * attempt)
                continue
            raise DatabaseUnavailable(str(error)) from error


def database_answers(engine):
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True, None
    except (DBAPIError, PoolTimeout) as error:
        return False, str(getattr(error, "orig", error))
