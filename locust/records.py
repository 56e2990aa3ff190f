"""The collected records file: a JSON array, always valid on disk.

Shared by collect.py (writes it) and replay.py (reads it).
"""

import json
import os


def add_records_file_argument(parser, help):
    """The --records-file option, the same file for both phases."""
    parser.add_argument("--records-file", env_var="LOCUST_RECORDS_FILE", default=".run/records.json", help=help)


def save_atomically(path, records):
    """Write `records` as a JSON array so that a reader, or a run killed at
    any instant, only ever sees the previous complete file or the new one:
    write a temporary file beside it, fsync it, rename it over the target,
    then fsync the folder so that the rename itself is durable."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    temporary = f"{path}.tmp-{os.getpid()}"
    with open(temporary, "w", encoding="utf-8") as out:
        json.dump(records, out, ensure_ascii=False, separators=(",", ":"))
        out.write("\n")
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)
    folder_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(folder_fd)
    finally:
        os.close(folder_fd)


def load_records(path):
    """Read the records file; a clear error when it is missing or not an
    array of objects that each carry an `id` (replay needs the id to be
    idempotent)."""
    try:
        with open(path, encoding="utf-8") as source:
            records = json.load(source)
    except FileNotFoundError:
        raise SystemExit(f"records file {path} does not exist; run the collect phase first") from None
    except json.JSONDecodeError as error:
        raise SystemExit(f"records file {path} is not valid JSON: {error}") from None
    if not isinstance(records, list):
        raise SystemExit(f"records file {path} must hold a JSON array")
    for index, record in enumerate(records):
        if not isinstance(record, dict) or not isinstance(record.get("id"), str):
            raise SystemExit(f"records file {path}: item {index} is not a record with a string id")
    return records
