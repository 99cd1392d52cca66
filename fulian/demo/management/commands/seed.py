import json
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from fulian.demo.county import DEMO_ROOT_CODE, build_demo_county, existing_demo_accounts, seed_demo_extras
from fulian.demo.ledger import build_demo_ledger, has_ledger
from fulian.orgs.models import OrgUnit
from fulian.supervision.demo import seed_demo_tasks


class Command(BaseCommand):
    help = (
        "生成演示数据:--scale demo 为一个示范县(约25个乡镇街道、350个村社区、80个机关企业妇委会,经由业务操作"
        "生成,含演示账号);county / city / province 为批量生成的县、市、省级数据(组织、干部、工作台账、"
        "维权案件),用于性能测试"
    )

    def add_arguments(self, parser):
        parser.add_argument("--scale", choices=["demo", "county", "city", "province"], default="demo")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--factor", type=float, default=1.0, help="批量规模的组织宽度系数(默认 1;测试用小数)"
        )
        parser.add_argument("--accounts-json", type=Path)

    def handle(self, *args, **options):
        started = time.monotonic()
        if options["scale"] != "demo":
            from fulian.demo.scales import build_scale

            def progress(phase: str, figures: dict) -> None:
                self.stderr.write(f"{phase}: {figures.get('seconds')} 秒")

            figures = build_scale(
                options["scale"], seed=options["seed"], factor=options["factor"], progress=progress
            )
            self.stdout.write(json.dumps(figures, ensure_ascii=False))
            return
        accounts = existing_demo_accounts()
        if accounts is None:
            accounts = build_demo_county(seed=options["seed"])
            self.stdout.write(f"已生成示范县(用时 {time.monotonic() - started:.1f} 秒)。")
        else:
            self.stdout.write("示范县已存在,未重复生成。")
            county = OrgUnit.objects.get(code=DEMO_ROOT_CODE)
            if not has_ledger(county):  # a county seeded before the ledger existed
                count = build_demo_ledger(county, seed=options["seed"])
                self.stdout.write(f"已补充示范县近一年的工作台账 {count} 条。")
            seed_demo_tasks(county)  # re-runnable: adds only the demo tasks that are missing
            seed_demo_extras(county, seed=options["seed"])
        if not accounts:
            raise CommandError("示范县存在但没有账号。")
        self.stdout.write(f"演示账号(密码均为 {accounts[0].password}):")
        for a in accounts:
            self.stdout.write(f"  {a.username:<22} {a.role:<11} {a.unit.name}")
        if options["accounts_json"]:
            options["accounts_json"].write_text(
                json.dumps([a.as_json() for a in accounts], ensure_ascii=False, indent=2), encoding="utf-8"
            )
