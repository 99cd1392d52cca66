"""Fill LedgerBranchMonth from LedgerMonthTotal (each unit's rows added into every ancestor below the root,
level by level from the deepest units up) and record how many unit moves it was built after."""

from django.db import migrations
from django.utils import timezone

COLUMNS = [
    "records",
    "training_sessions",
    "training_people",
    "training_person_times",
    "training_recommended",
    "training_employed",
    "activity_count",
    "activity_people",
    "activity_beneficiaries",
    "fair_count",
    "fair_employers",
    "fair_jobs",
    "fair_seekers",
    "fair_agreements",
    "workpoint_count",
    "workpoint_workers",
    "service_count",
    "service_beneficiaries",
    "service_amount",
]


def backfill(apps, schema_editor):
    OrgUnit = apps.get_model("orgs", "OrgUnit")
    Month = apps.get_model("ledger", "LedgerMonthTotal")
    Branch = apps.get_model("ledger", "LedgerBranchMonth")
    State = apps.get_model("ledger", "LedgerBranchState")
    AuditEvent = apps.get_model("audit", "AuditEvent")
    qn = schema_editor.connection.ops.quote_name
    month, branch, units = (qn(m._meta.db_table) for m in (Month, Branch, OrgUnit))
    picked = ", ".join(qn(c) for c in ["org_unit_id", "month", *COLUMNS])
    sums = ", ".join(f"SUM(x.{qn(c)})" for c in COLUMNS)
    deepest = OrgUnit.objects.order_by("-depth").values_list("depth", flat=True).first() or 0
    for depth in range(deepest, 1, -1):
        schema_editor.execute(
            f"INSERT INTO {branch} ({picked}) "  # noqa: S608 (names are ours)
            f"SELECT c.parent_id, x.month, {sums} FROM ("
            f"SELECT {picked} FROM {month} UNION ALL SELECT {picked} FROM {branch}"
            f") x JOIN {units} c ON c.id = x.org_unit_id JOIN {units} p ON p.id = c.parent_id "
            f"WHERE c.depth = %s AND p.parent_id IS NOT NULL GROUP BY c.parent_id, x.month",
            [depth],
        )
    State.objects.update_or_create(
        pk=1,
        defaults={
            "moves": AuditEvent.objects.filter(action="orgs.unit.move").count(),
            "rebuilt_at": timezone.now(),
        },
    )


class Migration(migrations.Migration):
    dependencies = [("ledger", "0007_branch_month_totals"), ("audit", "0001_initial")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
