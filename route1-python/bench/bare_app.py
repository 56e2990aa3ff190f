"""The benchmark's baseline: the same HTTP server (uvicorn) and threading
model as route 1, with a minimal Starlette app and raw PyMySQL: no validation,
no ORM, no metrics, no logs. It does the same single-row insert and commit.

Run: uvicorn bench.bare_app:app (configured by the same DB_* env vars)."""
import json
import os
import queue

import anyio
import pymysql
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

POOL_SIZE = int(os.environ.get("DB_POOL_SIZE", "16"))
INSERT = ("INSERT INTO metric_records (record_id, route, total_ram, ram_libre, uso_ram, porcentaje_ram,"
          " porcentaje_cpu_uso, porcentaje_cpu_libre, procesos_corriendo, total_procesos,"
          " procesos_durmiendo, procesos_zombie, procesos_parados, hora)"
          " VALUES (%s, 'python', %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)")
FIELDS = ("total_ram", "ram_libre", "uso_ram", "porcentaje_ram", "porcentaje_cpu_uso", "porcentaje_cpu_libre",
          "procesos_corriendo", "total_procesos", "procesos_durmiendo", "procesos_zombie", "procesos_parados",
          "hora")

connections = queue.Queue()


def connect():
    return pymysql.connect(host=os.environ.get("DB_HOST", "127.0.0.1"), port=int(os.environ["DB_PORT"]),
                           user=os.environ["DB_USER"], password=os.environ["DB_PASSWORD"],
                           database=os.environ["DB_NAME"], connect_timeout=1, read_timeout=2,
                           write_timeout=2, charset="utf8mb4")


def insert(record):
    connection = connections.get()
    try:
        with connection.cursor() as cursor:
            cursor.execute(INSERT, (record.get("id"), *(record[name] for name in FIELDS)))
        connection.commit()
    finally:
        connections.put(connection)


async def store(request):
    record = json.loads(await request.body())
    await anyio.to_thread.run_sync(insert, record, limiter=limiter)
    return Response('{"stored":1,"duplicates":0,"route":"python"}', status_code=201,
                    media_type="application/json")


async def startup():
    global limiter
    limiter = anyio.CapacityLimiter(POOL_SIZE)
    for _ in range(POOL_SIZE):
        connections.put(connect())


limiter = None
app = Starlette(routes=[Route("/api/metrics", store, methods=["POST"])], on_startup=[startup])
