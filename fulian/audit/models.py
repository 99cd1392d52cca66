"""Append-only audit log with an HMAC hash chain.

Each event's ``hash`` is HMAC-SHA256(key, prev_hash + canonical JSON of the row), ``prev_hash`` being the hash
of the previous event of the same lane (see chain.py: the log is a few independent chains, so writers in
different units do not queue behind one lock). Editing, deleting or inserting a row anywhere breaks its lane's
chain from there on, which ``fulian audit verify`` reports. The key is
derived from the secret key, so a person with write access to the database alone cannot re-forge the chain.
The ORM refuses updates and deletes; the admin is read-only.
"""

from django.db import models


class AppendOnlyError(Exception):
    pass


class AuditQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("审计日志只能追加,不能修改")

    def delete(self):
        raise AppendOnlyError("审计日志只能追加,不能删除")

    def within_paths(self, paths: tuple[str, ...], include_unplaced: bool = False):
        from fulian.orgs.paths import subtree_q

        if not paths:
            return self.none()
        q = subtree_q(paths, "org_path")
        if include_unplaced:
            q |= models.Q(org_path__isnull=True)
        return self.filter(q)


class Outcome(models.TextChoices):
    SUCCESS = "success", "成功"
    FAILURE = "failure", "失败"
    DENIED = "denied", "拒绝"


class AuditEvent(models.Model):
    created_at = models.DateTimeField(db_index=True)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    org_unit_id = models.BigIntegerField(null=True, blank=True)
    org_path = models.CharField(max_length=255, null=True, blank=True, db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.SUCCESS)
    detail = models.JSONField(default=dict, blank=True)
    lane = models.PositiveSmallIntegerField(default=0)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        verbose_name = "审计事件"
        verbose_name_plural = "审计事件"
        indexes = [models.Index(fields=["lane", "id"], name="auditevent_lane_id")]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_username} {self.action}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AppendOnlyError("审计日志只能追加,不能修改")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("审计日志只能追加,不能删除")


class AuditChainHead(models.Model):
    """The head of one lane (``id`` = the lane number), locked while appending, so concurrent writers of a lane
    extend its chain one at a time."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=0)
    last_hash = models.CharField(max_length=64)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id__lt=256), name="audit_chain_head_lane")]

    def __str__(self) -> str:
        return self.last_hash
