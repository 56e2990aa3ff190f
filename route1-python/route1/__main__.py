"""`python -m route1`: serves the app with uvicorn on $PORT, $WORKERS processes."""
import os
import shutil
import tempfile

import uvicorn

from .config import from_env
from .logs import uvicorn_log_config


def main():
    settings = from_env()
    if not settings.ingest_token:
        raise SystemExit("route1: INGEST_TOKEN is not set; POST /api/metrics needs it "
                         "(a Kubernetes Secret in the cluster, generated into .env locally)")
    multiproc_dir = None
    if settings.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Set before any worker imports prometheus_client, so every worker
        # writes its values where GET /metrics (in any worker) sums them.
        multiproc_dir = tempfile.mkdtemp(prefix="route1-prometheus-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = multiproc_dir
    try:
        uvicorn.run("route1.app:create_app", factory=True, host="0.0.0.0", port=settings.port,
                    workers=settings.workers, loop="uvloop", http="httptools",
                    log_config=uvicorn_log_config(settings.log_level), access_log=False,
                    backlog=2048)
    finally:
        if multiproc_dir:
            shutil.rmtree(multiproc_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
