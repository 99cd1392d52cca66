from django import forms
from django.contrib.auth import authenticate
from django.utils.translation import gettext_lazy as _

from fulian.audit.context import client_ip

from . import actions


class LoginForm(forms.Form):
    username = forms.CharField(
        label=_("用户名或手机号"),
        max_length=150,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )
    password = forms.CharField(
        label=_("密码"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )

    LOCKED = _("登录失败次数过多,账号或本机已被暂时锁定,请 15 分钟后再试,或联系系统管理员。")
    INVALID = _("用户名(手机号)或密码不正确。")

    def __init__(self, request, *args, **kwargs):
        self.request = request
        self.user = None
        super().__init__(*args, **kwargs)

    def clean(self):
        username = self.cleaned_data.get("username", "")
        password = self.cleaned_data.get("password")
        if not username or password is None:
            return self.cleaned_data
        ip = client_ip(self.request)
        if actions.is_locked_out(username, ip):
            actions.note_login_failure(username, ip, locked=True)
            raise forms.ValidationError(self.LOCKED, code="locked")
        user = authenticate(self.request, username=username, password=password)
        if user is None:
            actions.note_login_failure(username, ip, locked=False)
            raise forms.ValidationError(self.INVALID, code="invalid_login")
        self.user = user
        return self.cleaned_data
