from django import forms


class LoginForm(forms.Form):
    username = forms.CharField(label="用户名或手机号", max_length=150)
    password = forms.CharField(label="密码", max_length=256, widget=forms.PasswordInput)


class TokenForm(forms.Form):
    name = forms.CharField(label="用途", max_length=100)


class PasswordChangeForm(forms.Form):
    current_password = forms.CharField(label="当前密码", max_length=256, strip=False, widget=forms.PasswordInput)
    new_password = forms.CharField(label="新密码", max_length=256, strip=False, widget=forms.PasswordInput)
    new_password_again = forms.CharField(label="再次输入新密码", max_length=256, strip=False,
                                         widget=forms.PasswordInput)


class MobileForm(forms.Form):
    mobile = forms.CharField(label="手机号", max_length=20, required=False)


class PasswordResetForm(forms.Form):
    password = forms.CharField(label="临时密码（留空则自动生成）", max_length=256, required=False, strip=False)
