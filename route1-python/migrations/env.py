"""Alembic's environment: the database from the environment only, the model as the target.

DB_HOST, DB_PORT, DB_NAME as the service reads them (route1/config.py). The migration
needs DDL rights the service's user does not have, so DB_MIGRATE_USER and
DB_MIGRATE_PASSWORD, when set, replace DB_USER and DB_PASSWORD; DB_SOCKET, when set,
connects through that Unix socket instead of TCP (the local MariaDB's root user, which
authenticates by socket, with no password). No password is ever on a command line."""
import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy import create_engine

from route1 import storage
from route1.config import from_env
from route1.models import Base


if context.config.config_file_name:
    fileConfig(context.config.config_file_name, disable_existing_loggers=False)


def database_url():
    return storage.database_url(from_env(), user=os.environ.get("DB_MIGRATE_USER"),
                                password=os.environ.get("DB_MIGRATE_PASSWORD"),
                                unix_socket=os.environ.get("DB_SOCKET") or None)


COMPARE = dict(
    target_metadata=Base.metadata,
    compare_type=True,
    compare_server_default=True,
)


def run_offline():
    """`alembic upgrade head --sql`: the DDL printed, for review; no connection."""
    context.configure(url=database_url(), literal_binds=True, dialect_opts={"paramstyle": "named"}, **COMPARE)
    with context.begin_transaction():
        context.run_migrations()


def run_online():
    engine = create_engine(database_url(), connect_args={"connect_timeout": 5, "charset": "utf8mb4"})
    try:
        with engine.connect() as connection:
            context.configure(connection=connection, **COMPARE)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
