"""The write path's bearer token (contracts/ingest-api.yaml, rule 0)."""
import hashlib
import hmac

SCHEME = "bearer "


class BearerToken:
    """Checks `Authorization: Bearer <token>` against the route's INGEST_TOKEN. Both sides
    are hashed first, so that the comparison takes the same time whatever the length or
    content of what a client sends."""

    def __init__(self, token):
        self._digest = hashlib.sha256(token.encode()).digest()

    def admits(self, header):
        if header is None or header[:len(SCHEME)].lower() != SCHEME:
            return False
        offered = hashlib.sha256(header[len(SCHEME):].encode()).digest()
        return hmac.compare_digest(offered, self._digest)
