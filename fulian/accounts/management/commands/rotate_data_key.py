"""`fulian rotate_data_key`: re-encrypt sensitive people data under the current data key (docs/sensitive-data.md).

Procedure: generate a new key, start every process with it as FULIAN_DATA_KEY and the old one in
FULIAN_DATA_KEYS_OLD, run this command (resumable: rerun after an interruption), then `--check`; when no value
uses the old key any more, remove it from FULIAN_DATA_KEYS_OLD.
"""

from django.core.management.base import BaseCommand, CommandError

from fulian.audit.actions import record
from fulian.audit.models import Outcome
from fulian.lib.crypto import generate_key
from fulian.lib.sensitive import get_keyring, key_usage, rotate_model, sensitive_models


def models_to_rotate():
    return sensitive_models()


class Command(BaseCommand):
    help = (
        "用当前数据密钥重新加密全部敏感字段并重建盲索引;--check 只统计各密钥的使用量;"
        "--generate-key 打印一个新密钥 (re-encrypt sensitive fields under the current data key)"
    )

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="只统计,不写入")
        parser.add_argument("--generate-key", action="store_true", help="打印一个新的数据密钥后退出")
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument("--reindex", action="store_true", help="重写每一行(含已用当前密钥的行)")

    def handle(self, *args, **options):
        if options["generate_key"]:
            self.stdout.write(generate_key())
            return
        keyring = get_keyring()
        current = keyring.current.key_id
        old = [k for k in keyring.key_ids if k != current]
        self.stdout.write(f"当前密钥:{current};旧密钥:{'、'.join(old) or '无'}")
        models = models_to_rotate()
        if not models:
            self.stdout.write("没有含加密字段的数据表。")
        if options["check"]:
            self._report_usage(models, current)
            return
        if options["batch_size"] < 1:
            raise CommandError("--batch-size 必须大于 0")
        record(
            None,
            "accounts.data_key.rotation_started",
            object_type="data_key",
            object_id=current,
            detail={"key_id": current, "old_key_ids": old, "reindex": options["reindex"]},
        )
        results = []
        for model in models:
            result = rotate_model(
                model,
                batch_size=options["batch_size"],
                reindex=options["reindex"],
                progress=lambda r: self.stdout.write(
                    f"  {r.label}:已重写 {r.rows_rewritten} 行", ending="\r"
                ),
            )
            results.append(result)
            self.stdout.write(
                f"{result.label}:重写 {result.rows_rewritten} 行,重新加密 {result.values_reencrypted} 个值"
                + (f",{len(result.failed_pks)} 行无法解密" if result.failed_pks else "")
            )
        failed = {r.label: r.failed_pks[:100] for r in results if r.failed_pks}
        record(
            None,
            "accounts.data_key.rotated",
            object_type="data_key",
            object_id=current,
            outcome=Outcome.FAILURE if failed else Outcome.SUCCESS,
            detail={
                "key_id": current,
                "old_key_ids": old,
                "models": {r.label: [r.rows_rewritten, r.values_reencrypted] for r in results},
                "failed": failed,
            },
        )
        remaining = self._report_usage(models, current)
        if failed:
            raise CommandError(
                "部分记录无法解密(密钥缺失或数据被篡改),已跳过:"
                + ";".join(f"{label} #{', #'.join(map(str, pks))}" for label, pks in failed.items())
            )
        if remaining:
            raise CommandError("仍有数据使用旧密钥,请重新运行本命令")

    def _report_usage(self, models, current: str) -> int:
        remaining = 0
        for model in models:
            usage = key_usage(model)
            old_values = sum(n for kid, n in usage.items() if kid != current)
            remaining += old_values
            parts = "、".join(f"{kid}:{n}" for kid, n in sorted(usage.items())) or "无数据"
            self.stdout.write(f"{model._meta.label}:{parts}")
        if remaining:
            self.stdout.write(f"仍有 {remaining} 个值使用旧密钥,旧密钥暂不能移除。")
        else:
            self.stdout.write("所有数据均已使用当前密钥,可以从 FULIAN_DATA_KEYS_OLD 中移除旧密钥。")
        return remaining
