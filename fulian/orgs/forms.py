from django import forms

from .actions import CADRE_FIELDS
from .models import Cadre, Education, Position

YES_NO_ANY = [("", "全部"), ("1", "是"), ("0", "否")]


class CadreFilterForm(forms.Form):
    q = forms.CharField(label="姓名/电话", required=False, max_length=50)
    education = forms.ChoiceField(
        label="文化程度", required=False, choices=[("", "全部"), *Education.choices]
    )
    position = forms.ChoiceField(label="职务", required=False, choices=[("", "全部"), *Position.choices])
    full_time = forms.ChoiceField(label="专职", required=False, choices=YES_NO_ANY)
    party_member = forms.ChoiceField(label="党员", required=False, choices=YES_NO_ANY)
    in_two_committees = forms.ChoiceField(label="进两委", required=False, choices=YES_NO_ANY)

    def tri(self, name: str) -> bool | None:
        value = self.cleaned_data.get(name, "")
        return None if value == "" else value == "1"


class CadreForm(forms.ModelForm):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Cadre
        fields = list(CADRE_FIELDS)
        widgets = {
            "birth_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "term_start": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "term_end": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "phone": forms.TextInput(attrs={"inputmode": "tel"}),
        }


class MoveUnitForm(forms.Form):
    new_parent = forms.IntegerField(label="新的上级单位", widget=forms.Select)


class ImportForm(forms.Form):
    KIND_CHOICES = [("units", "组织单位"), ("cadres", "妇联干部")]
    kind = forms.ChoiceField(label="导入内容", choices=KIND_CHOICES)
    file = forms.FileField(label="Excel 文件(.xlsx)")
