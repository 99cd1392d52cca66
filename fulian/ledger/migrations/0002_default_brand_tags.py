from django.db import migrations

TAGS = [
    "双学双比",
    "巾帼建功",
    "美在农家",
    "平安家庭",
    "五好文明家庭",
    "巾帼文明岗",
    "最美家庭",
    "巾帼志愿服务",
]


def add_tags(apps, schema_editor):
    BrandTag = apps.get_model("ledger", "BrandTag")
    for order, name in enumerate(TAGS, start=1):
        BrandTag.objects.get_or_create(name=name, defaults={"sort_order": order})


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]
    operations = [migrations.RunPython(add_tags, migrations.RunPython.noop)]
