"""Log-in, log-out, personal API tokens, the account page (own password and mobile number) and
the administrators' account list with its password reset.

Unknown user, wrong password and a locked account all get the same page with
the same message, so the response does not reveal which it was.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout, update_session_auth_hash
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from access.policy import Action as Can
from access.policy import can, fetch, visible
from accounts import throttle
from accounts.backends import account_for_login, lock_key, spend_hash_time
from accounts.decorators import admin_required, scoped_view, signed_in
from accounts.forms import LoginForm, MobileForm, PasswordChangeForm, PasswordResetForm, TokenForm
from accounts.mobile import looks_like_mobile, mobile_mask, mobile_normalise
from accounts.models import ApiToken, User
from accounts.selectors import account_list
from accounts.services import (
    api_token_create,
    api_token_revoke,
    user_password_change,
    user_password_reset,
    user_scope_path,
    user_set_mobile,
)
from audit.actions import Action
from audit.services import audit_record
from core.logging import redact
from core.requests import client_ip, object_id

LOGIN_FAILED_MESSAGE = "用户名（手机号）或密码错误，或账户已被临时锁定，请稍后再试。"


@login_not_required
@require_http_methods(["GET", "POST"])
def login_view(request):
    form = LoginForm(request.POST or None)
    error = ""
    if request.method == "POST":
        ip = client_ip(request)
        wait = throttle.ip_blocked(ip)
        if wait is not None:
            raise throttle.Throttled("该网络地址登录失败次数过多，已暂时停止受理登录。", retry_after=wait)
        if form.is_valid():
            identifier = form.cleaned_data["username"].strip()
            password = form.cleaned_data["password"]
            target = account_for_login(identifier)
            key = lock_key(identifier, target)
            user = None
            locked = throttle.account_locked(key)
            if locked:
                spend_hash_time(password)
            else:
                user = authenticate(request, username=identifier, password=password)
            if user is not None:
                throttle.account_reset(key)
                login(request, user)  # rotates the session key
                audit_record(action=Action.LOGIN_SUCCESS, actor=user, ip=ip, scope_path=user_scope_path(user),
                             object_type="user", object_id=user.pk)
                if user.must_change_password:
                    return redirect(f"{reverse('accounts:password_change')}?required=1")
                next_url = request.POST.get("next") or request.GET.get("next")
                if next_url and url_has_allowed_host_and_scheme(next_url, {request.get_host()}, require_https=request.is_secure()):
                    return redirect(next_url)
                return redirect("core:home")
            # Only failures count, per account and per address: successes never use up a
            # shared address (a school computer room behind one NAT address).
            throttle.ip_failure(ip)
            failures = throttle.account_failure(key) if not locked else None
            # The targeted account (if it exists) is the object, so its jurisdiction
            # sees the attempt; what was typed is kept with any ID or mobile number masked.
            typed = mobile_mask(mobile_normalise(identifier)) if looks_like_mobile(identifier) else redact(identifier[:150])
            audit_record(
                action=Action.LOGIN_LOCKED if locked else Action.LOGIN_FAILURE,
                ip=ip,
                result="refused",
                scope_path=user_scope_path(target) if target else "",
                object_type="user" if target else "",
                object_id=target.pk if target else "",
                detail={"username": typed, "failures": failures},
            )
        else:
            throttle.ip_failure(ip)
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


@scoped_view
@require_http_methods(["GET", "POST"])
def account_view(request, scope):
    """我的账户: role, unit, and the account's own mobile number."""
    form = MobileForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user_set_mobile(scope=scope, actor=request.user, mobile=form.cleaned_data["mobile"], ip=client_ip(request))
        except ValidationError as error:
            _form_errors(form, error)
        else:
            messages.success(request, "手机号已保存。" if form.cleaned_data["mobile"].strip() else "手机号已清除。")
            return redirect("accounts:account")
    return render(request, "accounts/account.html", {"form": form, "account": request.user, "scope": scope})


@scoped_view
@require_http_methods(["GET", "POST"])
def password_change(request, scope):
    form = PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = user_password_change(scope=scope, actor=request.user, ip=client_ip(request), **form.cleaned_data)
        except ValidationError as error:
            _form_errors(form, error)
        else:
            update_session_auth_hash(request, user)  # this session stays; the account's others end
            messages.success(request, "密码已修改。")
            return redirect("accounts:account")
    required = request.user.must_change_password
    return render(request, "accounts/password_change.html", {"form": form, "required": required})


@admin_required
@require_GET
def user_list(request, scope):
    q = request.GET.get("q", "").strip()[:50]
    page = Paginator(account_list(scope=scope, q=q), 50).get_page(request.GET.get("page"))
    rows = [(account, can(scope, Can.RESET_PASSWORD, account)) for account in page]
    return render(request, "accounts/user_list.html", {"page": page, "rows": rows, "q": q})


@admin_required
@require_http_methods(["GET", "POST"])
def user_reset(request, scope, user_id):
    account = fetch(scope, User, user_id, Can.RESET_PASSWORD,
                    select_related=("division", "school", "institution", "teacher__school"))
    form = PasswordResetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            account, password = user_password_reset(scope=scope, actor=request.user, user_id=account.pk,
                                                    password=form.cleaned_data["password"], ip=client_ip(request))
        except ValidationError as error:
            _form_errors(form, error)
        else:
            # Shown once: never stored in clear, never shown again.
            return render(request, "accounts/user_reset.html", {"account": account, "password": password,
                                                               "form": None})
    return render(request, "accounts/user_reset.html", {"account": account, "form": form, "password": None})


def _form_errors(form, error: ValidationError) -> None:
    for field, messages_ in (error.message_dict if hasattr(error, "error_dict") else {None: error.messages}).items():
        for message in messages_:
            form.add_error(field if field in form.fields else None, message)
