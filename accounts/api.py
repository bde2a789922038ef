from django.contrib.auth import SESSION_KEY, update_session_auth_hash
from django.core.exceptions import PermissionDenied
from ninja import Router, Schema

from access.scope import scope_for_user
from accounts.models import ADMIN_ROLES, User
from accounts.services import user_password_change, user_password_reset, user_set_mobile
from core.requests import client_ip

router = Router(tags=["账户"])


class MeOut(Schema):
    username: str
    full_name: str
    role: str
    role_label: str
    division_code: str | None
    school_code: str | None
    institution_code: str | None
    teacher_id: int | None
    scope_label: str
    unit: str
    mobile_masked: str
    must_change_password: bool


class MeIn(Schema):
    mobile: str


class PasswordChangeIn(Schema):
    current_password: str
    new_password: str
    new_password_again: str


class PasswordResetIn(Schema):
    password: str = ""


class PasswordResetOut(Schema):
    user_id: int
    username: str
    temporary_password: str
    must_change_password: bool


class DoneOut(Schema):
    detail: str


def _me(user: User) -> MeOut:
    scope = scope_for_user(user)
    return MeOut(
        username=user.username, full_name=user.get_full_name(), role=user.role, role_label=user.get_role_display(),
        division_code=user.division.code if user.division else None,
        school_code=user.school.code if user.school else None,
        institution_code=user.institution.code if user.institution else None,
        teacher_id=user.teacher_id, scope_label=scope.label, unit=user.unit_label,
        mobile_masked=user.mobile_masked, must_change_password=user.must_change_password,
    )


@router.get("/me", response=MeOut, summary="当前用户及其管辖范围")
def me(request):
    return _me(request.auth)


@router.patch("/me", response=MeOut, summary="修改本人手机号（空字符串清除）")
def me_update(request, payload: MeIn):
    user = user_set_mobile(scope=scope_for_user(request.auth), actor=request.auth, mobile=payload.mobile,
                           ip=client_ip(request))
    return _me(user)


@router.post("/me/password", response=DoneOut, summary="修改本人密码")
def me_password(request, payload: PasswordChangeIn):
    user = user_password_change(scope=scope_for_user(request.auth), actor=request.auth, ip=client_ip(request),
                                **payload.dict())
    session = getattr(request, "session", None)
    if session is not None and session.get(SESSION_KEY) == str(user.pk):
        update_session_auth_hash(request, user)  # a session caller stays signed in; its other sessions end
    return DoneOut(detail="密码已修改")


@router.post("/accounts/{user_id}/password-reset", response=PasswordResetOut,
             summary="管理员重置下级账户密码（临时密码只返回这一次）")
def account_password_reset(request, user_id: int, payload: PasswordResetIn):
    if request.auth.role not in ADMIN_ROLES:
        raise PermissionDenied("只有管理员可以重置密码")
    user, password = user_password_reset(scope=scope_for_user(request.auth), actor=request.auth, user_id=user_id,
                                         password=payload.password, ip=client_ip(request))
    return PasswordResetOut(user_id=user.pk, username=user.username, temporary_password=password,
                            must_change_password=True)
