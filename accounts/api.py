from ninja import Router, Schema

from access.scope import scope_for_user

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


@router.get("/me", response=MeOut, summary="当前用户及其管辖范围")
def me(request):
    user = request.auth
    scope = scope_for_user(user)
    return MeOut(
        username=user.username, full_name=user.get_full_name(), role=user.role, role_label=user.get_role_display(),
        division_code=user.division.code if user.division_id else None,
        school_code=user.school.code if user.school_id else None,
        institution_code=user.institution.code if user.institution_id else None,
        teacher_id=user.teacher_id, scope_label=scope.label,
    )
