from django import forms


class SummaryForm(forms.Form):
    year = forms.IntegerField(label="年度", min_value=2000, max_value=2100)
    problems = forms.CharField(
        label="三、存在问题", required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 5})
    )
    plans = forms.CharField(
        label="四、下一步打算", required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 5})
    )
