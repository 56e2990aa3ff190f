"""The ORM mapping of contracts/schema.sql's only table. The service never
creates or alters tables: contracts/schema.sql is the DDL, and
tests/test_model_matches_schema.py fails when this mapping drifts from it."""
from datetime import datetime
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.dialects.mysql import BIGINT, CHAR, DATETIME, DECIMAL, ENUM, INTEGER
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


def int_unsigned_column():
    return mapped_column(INTEGER(unsigned=True), nullable=False)


class MetricRecord(Base):
    __tablename__ = "metric_records"

    id: Mapped[int] = mapped_column(BIGINT(unsigned=True), primary_key=True, autoincrement=True)
    # The unique key uq_metric_records_record_id (ascii_general_ci) decides duplicates.
    record_id: Mapped[str | None] = mapped_column(CHAR(36, charset="ascii", collation="ascii_general_ci"),
                                                  nullable=True)
    route: Mapped[str] = mapped_column(ENUM("python", "node"), nullable=False)
    total_ram: Mapped[int] = int_unsigned_column()
    ram_libre: Mapped[int] = mapped_column(BIGINT(unsigned=True), nullable=False)
    uso_ram: Mapped[int] = int_unsigned_column()
    porcentaje_ram: Mapped[Decimal] = mapped_column(DECIMAL(5, 2), nullable=False)
    porcentaje_cpu_uso: Mapped[Decimal] = mapped_column(DECIMAL(5, 2), nullable=False)
    porcentaje_cpu_libre: Mapped[Decimal] = mapped_column(DECIMAL(5, 2), nullable=False)
    procesos_corriendo: Mapped[int] = int_unsigned_column()
    total_procesos: Mapped[int] = int_unsigned_column()
    procesos_durmiendo: Mapped[int] = int_unsigned_column()
    procesos_zombie: Mapped[int] = int_unsigned_column()
    procesos_parados: Mapped[int] = int_unsigned_column()
    hora: Mapped[datetime] = mapped_column(DATETIME(), nullable=False)
    # Filled by the database's default; the service never sends it.
    received_at: Mapped[datetime] = mapped_column(DATETIME(fsp=3), nullable=False,
                                                  server_default=text("CURRENT_TIMESTAMP(3)"))
