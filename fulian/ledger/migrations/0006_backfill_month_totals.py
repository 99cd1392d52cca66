"""Fill LedgerMonthTotal from the records that exist before it (from here on the actions keep it current).

The indicators are frozen here as they were when the table was created (a migration must not follow later
edits of fulian.ledger.queries.INDICATORS); later changes rebuild with `fulian ledger_rebuild_totals`.
"""

from django.db import migrations
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncMonth

# column -> (kind, summed record field or None for a count)
INDICATORS = {
    "training_sessions": ("training", "sessions"),
    "training_people": ("training", "participants"),
    "training_person_times": ("training", "person_times"),
    "training_recommended": ("training", "recommended_jobs"),
    "training_employed": ("training", "employed"),
    "activity_count": ("activity", None),
    "activity_people": ("activity", "participants"),
    "activity_beneficiaries": ("activity", "beneficiaries"),
    "fair_count": ("job_fair", None),
    "fair_employers": ("job_fair", "employers"),
    "fair_jobs": ("job_fair", "jobs_offered"),
    "fair_seekers": ("job_fair", "job_seekers"),
    "fair_agreements": ("job_fair", "agreements"),
    "workpoint_count": ("workpoint", None),
    "workpoint_workers": ("workpoint", "workers"),
    "service_count": ("service", None),
    "service_beneficiaries": ("service", "beneficiaries"),
    "service_amount": ("service", "amount"),
}


def backfill(apps, schema_editor):
    LedgerRecord = apps.get_model("ledger", "LedgerRecord")
    LedgerMonthTotal = apps.get_model("ledger", "LedgerMonthTotal")
    sums = {
        column: Count("id", filter=Q(kind=kind))
        if name is None
        else Sum(name, filter=Q(kind=kind), default=0)
        for column, (kind, name) in INDICATORS.items()
    }
    rows = (
        LedgerRecord.objects.annotate(month=TruncMonth("date"))
        .values("org_unit_id", "month")
        .annotate(records=Count("id"), **sums)
        .order_by()
    )
    select, params = rows.query.sql_with_params()
    qn = schema_editor.connection.ops.quote_name
    columns = ", ".join(qn(c) for c in ["org_unit_id", "month", "records", *INDICATORS])
    schema_editor.execute(f"INSERT INTO {qn(LedgerMonthTotal._meta.db_table)} ({columns}) {select}", params)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0005_month_totals")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
