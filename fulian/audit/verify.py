"""Walk the chain and report every break."""

from __future__ import annotations

from dataclasses import dataclass, field

from .chain import GENESIS, compute_hash
from .models import AuditChainHead, AuditEvent


@dataclass
class VerifyResult:
    checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_chain(batch_size: int = 5000) -> VerifyResult:
    result = VerifyResult()
    expected_prev = GENESIS
    last_id = 0
    while True:
        rows = list(AuditEvent.objects.filter(id__gt=last_id).order_by("id")[:batch_size])
        if not rows:
            break
        for event in rows:
            result.checked += 1
            if event.prev_hash != expected_prev:
                result.problems.append(f"事件 #{event.id} 之前的记录缺失或被改动(链断开)")
            if compute_hash(event.prev_hash, event) != event.hash:
                result.problems.append(f"事件 #{event.id} 的内容已被篡改(哈希不符)")
            expected_prev = event.hash
            last_id = event.id
    head = AuditChainHead.objects.filter(id=1).first()
    if head is not None and head.last_hash != expected_prev:
        result.problems.append("日志末尾的记录被删除(链头与最后一条记录不符)")
    return result
