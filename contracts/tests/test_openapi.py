"""The OpenAPI document names the record schema and every answer the routes give."""
from pathlib import Path

import yaml

CONTRACTS = Path(__file__).resolve().parents[1]


def test_post_metrics_answers():
    api = yaml.safe_load((CONTRACTS / "ingest-api.yaml").read_text())
    assert api["openapi"].startswith("3.1")
    post = api["paths"]["/api/metrics"]["post"]
    assert set(post["responses"]) == {"201", "400", "401", "413", "415", "422", "503"}
    # Only the write needs the token; health, readiness and metrics stay open.
    assert post["security"] == [{"ingestToken": []}]
    assert api["components"]["securitySchemes"]["ingestToken"] == {**api["components"]["securitySchemes"]["ingestToken"],
                                                                  "type": "http", "scheme": "bearer"}
    for path in ("/healthz", "/readyz", "/metrics"):
        assert "security" not in api["paths"][path]["get"] and "security" not in api
    assert "Retry-After" in post["responses"]["503"]["headers"]
    for path in ("/healthz", "/readyz", "/metrics"):
        assert "get" in api["paths"][path]
    for path_item in api["paths"].values():
        for operation in path_item.values():
            for response in operation["responses"].values():
                assert "X-Route" in response["headers"]
    ref = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert (CONTRACTS / ref).resolve().exists()
