from django import forms


class LoginForm(forms.Form):
    username = forms.CharField(label="用户名", max_length=150)
    password = forms.CharField(label="密码", max_length=256, widget=forms.PasswordInput)


class TokenForm(forms.Form):
    name = forms.CharField(label="用途", max_length=100)
