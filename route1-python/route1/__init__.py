"""Route 1: the Python ingestion service (FastAPI + SQLAlchemy 2 + PyMySQL)."""
ROUTE_NAME = "python"
