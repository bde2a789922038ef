"""Log-in, log-out and personal API tokens.

Unknown user, wrong password and a locked account all get the same page with
the same message, so the response does not reveal which it was.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from access.policy import visible
from accounts import throttle
from accounts.decorators import admin_required, signed_in
from accounts.forms import LoginForm, TokenForm
from accounts.models import ApiToken, User
from accounts.services import api_token_create, api_token_revoke, user_scope_path
from audit.actions import Action
from audit.services import audit_record
from core.logging import redact
from core.requests import client_ip, object_id

LOGIN_FAILED_MESSAGE = "用户名或密码错误，或账户已被临时锁定，请稍后再试。"


@login_not_required
@require_http_methods(["GET", "POST"])
def login_view(request):
    form = LoginForm(request.POST or None)
    error = ""
    if request.method == "POST":
        ip = client_ip(request)
        if not throttle.ip_attempt_allowed(ip):
            return HttpResponse("登录尝试过于频繁，请稍后再试。", status=429, content_type="text/plain; charset=utf-8")
        if form.is_valid():
            username = form.cleaned_data["username"].strip()
            user = None
            locked = throttle.account_locked(username)
            if not locked:
                user = authenticate(request, username=username, password=form.cleaned_data["password"])
            if user is not None:
                throttle.account_reset(username)
                login(request, user)  # rotates the session key
                audit_record(action=Action.LOGIN_SUCCESS, actor=user, ip=ip, scope_path=user_scope_path(user),
                             object_type="user", object_id=user.pk)
                next_url = request.POST.get("next") or request.GET.get("next")
                if next_url and url_has_allowed_host_and_scheme(next_url, {request.get_host()}, require_https=request.is_secure()):
                    return redirect(next_url)
                return redirect("core:home")
            failures = throttle.account_failure(username) if not locked else None
            # The targeted account (if it exists) is the object, so its jurisdiction
            # sees the attempt; what was typed is kept with any ID number masked.
            target = User.objects.filter(username=username).first()
            audit_record(
                action=Action.LOGIN_LOCKED if locked else Action.LOGIN_FAILURE,
                ip=ip,
                result="refused",
                scope_path=user_scope_path(target) if target else "",
                object_type="user" if target else "",
                object_id=target.pk if target else "",
                detail={"username": redact(username[:150]), "failures": failures},
            )
        error = LOGIN_FAILED_MESSAGE
        form = LoginForm(initial={"username": ""})
    return render(request, "accounts/login.html", {"form": form, "error": error, "next": request.GET.get("next", "")})


@signed_in
@require_POST
def logout_view(request):
    if request.user.is_authenticated:
        audit_record(action=Action.LOGOUT, actor=request.user, ip=client_ip(request),
                     scope_path=user_scope_path(request.user), object_type="user", object_id=request.user.pk)
    logout(request)  # flushes the server-side session
    return redirect("accounts:login")


@admin_required
@require_http_methods(["GET", "POST"])
def token_list(request, scope):
    new_secret = None
    form = TokenForm(request.POST or None)
    if request.method == "POST":
        if "revoke" in request.POST:
            api_token_revoke(scope=scope, actor=request.user, token_id=object_id(request.POST.get("revoke")),
                             ip=client_ip(request))
            messages.success(request, "令牌已作废。")
            return redirect("accounts:token_list")
        if form.is_valid():
            _, new_secret = api_token_create(user=request.user, name=form.cleaned_data["name"])
            form = TokenForm()
    tokens = visible(scope, ApiToken).order_by("-created_at")
    return render(request, "accounts/tokens.html", {"form": form, "tokens": tokens, "new_secret": new_secret,
                                                    "now": timezone.now(), "token_days": settings.API_TOKEN_DAYS})
