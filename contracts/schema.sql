-- A checked artifact of the migrations, not the definition. The table is defined by
-- route1-python/route1/models.py (SQLAlchemy 2) and the Alembic migrations generated
-- from it (route1-python/migrations/versions/, applied by `make migrate`).
-- route1-python/tests/test_migrations.py fails when `alembic upgrade head` builds a
-- table other than this file's (columns, keys, table options, SHOW CREATE TABLE):
-- change the model, generate and review a migration, then make this file match.
-- It stays because scripts/mariadb.sh and the cluster scripts still apply it.
-- Idempotent: applying it twice changes nothing.
-- The database is chosen by the caller (scripts/mariadb.sh applies it to DB_NAME),
-- so this file names no database. Units follow contracts/metric-record.schema.json.

CREATE TABLE IF NOT EXISTS metric_records (
  id                   BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  -- The record's optional UUID `id`; the unique key makes a second POST a duplicate.
  -- ascii_general_ci: the same UUID in upper and lower case is one record.
  record_id            CHAR(36) CHARACTER SET ascii COLLATE ascii_general_ci NULL,
  -- Which ingestion service stored the row: the traffic split's observable.
  route                ENUM('python', 'node') NOT NULL,
  total_ram            INT UNSIGNED NOT NULL COMMENT 'MiB',
  ram_libre            BIGINT UNSIGNED NOT NULL COMMENT 'bytes',
  uso_ram              INT UNSIGNED NOT NULL COMMENT 'MiB, total - available',
  porcentaje_ram       DECIMAL(5,2) NOT NULL COMMENT '0-100',
  porcentaje_cpu_uso   DECIMAL(5,2) NOT NULL COMMENT '0-100',
  porcentaje_cpu_libre DECIMAL(5,2) NOT NULL COMMENT '0-100',
  procesos_corriendo   INT UNSIGNED NOT NULL,
  total_procesos       INT UNSIGNED NOT NULL,
  procesos_durmiendo   INT UNSIGNED NOT NULL,
  procesos_zombie      INT UNSIGNED NOT NULL,
  procesos_parados     INT UNSIGNED NOT NULL,
  hora                 DATETIME NOT NULL COMMENT 'time of the reading, UTC',
  received_at          DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) COMMENT 'UTC',
  PRIMARY KEY (id),
  UNIQUE KEY uq_metric_records_record_id (record_id),
  KEY idx_metric_records_hora (hora),
  KEY idx_metric_records_received_at (received_at),
  KEY idx_metric_records_route_received_at (route, received_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
