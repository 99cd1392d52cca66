"""Walk every lane's chain and report every break."""

from __future__ import annotations

from dataclasses import dataclass, field

from .chain import GENESIS, compute_hash
from .models import AuditChainHead, AuditEvent


@dataclass
class VerifyResult:
    checked: int = 0
    problems: list[str] = field(default_factory=list)
    lanes: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_chain(batch_size: int = 5000) -> VerifyResult:
    """Each lane from its genesis to its head row: every event's hash over its own content, every event's link to
    the one before it in its lane, and the last event against the head (a deleted tail)."""
    result = VerifyResult()
    heads = dict(AuditChainHead.objects.values_list("id", "last_hash"))
    lanes = sorted(set(heads) | set(AuditEvent.objects.values_list("lane", flat=True).distinct()))
    for lane in lanes:
        last_hash = _verify_lane(lane, batch_size, result)
        result.lanes += 1
        head = heads.get(lane)
        if head is not None and head != last_hash:
            where = f"(第 {lane} 条链)" if lane else ""
            result.problems.append(f"日志末尾的记录被删除(链头与最后一条记录不符){where}")
        elif head is None and last_hash != GENESIS and heads:
            result.problems.append(f"第 {lane} 条链的链头缺失")
    return result


def _verify_lane(lane: int, batch_size: int, result: VerifyResult) -> str:
    expected_prev = GENESIS
    last_id = 0
    while True:
        rows = list(AuditEvent.objects.filter(lane=lane, id__gt=last_id).order_by("id")[:batch_size])
        if not rows:
            return expected_prev
        for event in rows:
            result.checked += 1
            if event.prev_hash != expected_prev:
                result.problems.append(f"事件 #{event.id} 之前的记录缺失或被改动(链断开)")
            if compute_hash(event.prev_hash, event) != event.hash:
                result.problems.append(f"事件 #{event.id} 的内容已被篡改(哈希不符)")
            expected_prev = event.hash
            last_id = event.id
