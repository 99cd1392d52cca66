"""Hash-chain computation, shared by writing and verifying.

The log is ``chain_lanes()`` independent hash chains ("lanes", default 16): each event belongs to one lane
(stored in the row and, for lanes other than 0, inside its hash), and each lane has its own head row. Lane 0 is
the original single chain, so events written before lanes existed verify unchanged."""

import hashlib
import hmac
import json

from django.conf import settings

GENESIS = "0" * 64
CHAINED_FIELDS = (
    "created_at",
    "actor_id",
    "actor_username",
    "action",
    "object_type",
    "object_id",
    "org_unit_id",
    "org_path",
    "ip",
    "outcome",
    "detail",
)


def chain_lanes() -> int:
    """How many lanes new events are spread over (``AUDIT_CHAIN_LANES``, 1–256; 1 = one global chain)."""
    return max(1, min(256, int(getattr(settings, "AUDIT_CHAIN_LANES", 16))))


def _key() -> bytes:
    return hashlib.sha256(b"fulian-audit-chain:" + settings.SECRET_KEY.encode()).digest()


def canonical(event) -> bytes:
    data = {}
    for name in CHAINED_FIELDS:
        value = getattr(event, name)
        if name == "created_at":
            value = value.isoformat(timespec="microseconds")
        data[name] = value
    lane = getattr(event, "lane", 0) or 0
    if lane:  # lane 0 hashes as before lanes existed; any other lane is part of the hashed content
        data["lane"] = lane
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def compute_hash(prev_hash: str, event) -> str:
    return hmac.new(_key(), prev_hash.encode() + canonical(event), hashlib.sha256).hexdigest()
