from django.db import migrations

# (code, name, is_violence, [(code, name, is_violence), ...]) — the categories; editable afterwards.
CATEGORIES = [
    (
        "marriage_family",
        "婚姻家庭",
        False,
        [
            ("domestic_violence", "家庭暴力", True),
            ("divorce", "离婚纠纷", False),
            ("child_support", "抚养", False),
            ("elder_support", "赡养", False),
            ("family_property", "财产", False),
            ("marriage_other", "其他婚姻家庭问题", False),
        ],
    ),
    (
        "personal_rights",
        "人身权益",
        False,
        [
            ("bodily_harm", "人身伤害", True),
            ("privacy_reputation", "隐私、名誉", False),
            ("personal_other", "其他人身权益", False),
        ],
    ),
    (
        "land_collective",
        "土地和集体经济权益",
        False,
        [
            ("married_out_women", "外嫁女权益", False),
            ("land_contract", "土地承包", False),
            ("collective_income", "集体收益分配", False),
        ],
    ),
    (
        "labour_social",
        "劳动和社会保障",
        False,
        [
            ("employment_discrimination", "就业性别歧视", False),
            ("maternity", "孕期、产期、哺乳期权益", False),
            ("wages_insurance", "工资和社会保险", False),
        ],
    ),
    ("sexual_harassment", "性骚扰", True, []),
    ("trafficking", "拐卖", True, []),
    ("other", "其他", False, []),
]


def add_categories(apps, schema_editor):
    CaseCategory = apps.get_model("cases", "CaseCategory")
    for order, (code, name, violence, children) in enumerate(CATEGORIES, start=1):
        parent, _ = CaseCategory.objects.get_or_create(
            code=code, defaults={"name": name, "is_violence": violence, "sort_order": order}
        )
        for sub_order, (sub_code, sub_name, sub_violence) in enumerate(children, start=1):
            CaseCategory.objects.get_or_create(
                code=sub_code,
                defaults={
                    "name": sub_name,
                    "parent": parent,
                    "is_violence": sub_violence,
                    "sort_order": sub_order,
                },
            )


class Migration(migrations.Migration):
    dependencies = [("cases", "0001_initial")]
    operations = [migrations.RunPython(add_categories, migrations.RunPython.noop)]
