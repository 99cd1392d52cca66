"""Hash-chain computation, shared by writing and verifying."""

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


def _key() -> bytes:
    return hashlib.sha256(b"fulian-audit-chain:" + settings.SECRET_KEY.encode()).digest()


def canonical(event) -> bytes:
    data = {}
    for name in CHAINED_FIELDS:
        value = getattr(event, name)
        if name == "created_at":
            value = value.isoformat(timespec="microseconds")
        data[name] = value
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def compute_hash(prev_hash: str, event) -> str:
    return hmac.new(_key(), prev_hash.encode() + canonical(event), hashlib.sha256).hexdigest()
