"""The definition of `metric_records`, the project's only table. The service never
creates or alters tables: the Alembic migrations in migrations/versions/ do, and are
generated from this model (`alembic revision --autogenerate`, then reviewed).
tests/test_migrations.py fails when the migrations drift from this model, and
tests/test_model_matches_schema.py when this mapping drifts from the migrated table."""
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Index, UniqueConstraint, text
from sqlalchemy.dialects.mysql import BIGINT, CHAR, DATETIME, DECIMAL, ENUM, INTEGER
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


def int_unsigned_column(comment=None):
    return mapped_column(INTEGER(unsigned=True), nullable=False, comment=comment)


class MetricRecord(Base):
    __tablename__ = "metric_records"
    __table_args__ = (
        # Decides duplicates: a second POST of the same record id stores nothing.
        UniqueConstraint("record_id", name="uq_metric_records_record_id"),
        Index("idx_metric_records_hora", "hora"),
        Index("idx_metric_records_received_at", "received_at"),
        Index("idx_metric_records_route_received_at", "route", "received_at"),
        {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_unicode_ci"},
    )

    id: Mapped[int] = mapped_column(BIGINT(unsigned=True), primary_key=True, autoincrement=True)
    # The unique key uq_metric_records_record_id (ascii_general_ci) decides duplicates.
    record_id: Mapped[str | None] = mapped_column(CHAR(36, charset="ascii", collation="ascii_general_ci"),
                                                  nullable=True)
    route: Mapped[str] = mapped_column(ENUM("python", "node"), nullable=False)
    total_ram: Mapped[int] = int_unsigned_column("MiB")
    ram_libre: Mapped[int] = mapped_column(BIGINT(unsigned=True), nullable=False, comment="bytes")
    uso_ram: Mapped[int] = int_unsigned_column("MiB, total - available")
    porcentaje_ram: Mapped[Decimal] = mapped_column(DECIMAL(5, 2), nullable=False, comment="0-100")
    porcentaje_cpu_uso: Mapped[Decimal] = mapped_column(DECIMAL(5, 2), nullable=False, comment="0-100")
    porcentaje_cpu_libre: Mapped[Decimal] = mapped_column(DECIMAL(5, 2), nullable=False, comment="0-100")
    procesos_corriendo: Mapped[int] = int_unsigned_column()
    total_procesos: Mapped[int] = int_unsigned_column()
    procesos_durmiendo: Mapped[int] = int_unsigned_column()
    procesos_zombie: Mapped[int] = int_unsigned_column()
    procesos_parados: Mapped[int] = int_unsigned_column()
    hora: Mapped[datetime] = mapped_column(DATETIME(), nullable=False, comment="time of the reading, UTC")
    # Filled by the database's default; the service never sends it.
    received_at: Mapped[datetime] = mapped_column(DATETIME(fsp=3), nullable=False,
                                                  server_default=text("CURRENT_TIMESTAMP(3)"), comment="UTC")
