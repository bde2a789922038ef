"""Accounts: one role each, bound to the division, school or institution it serves."""

import hashlib

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.crypto import salted_hmac

from access.managers import ScopedManager


class Role(models.TextChoices):
    TEACHER = "teacher", "教师"
    EXPERT = "expert", "专家"
    SCHOOL_ADMIN = "school_admin", "学校管理员"
    COUNTY_ADMIN = "county_admin", "县级管理员"
    CITY_ADMIN = "city_admin", "市级管理员"
    PROVINCE_ADMIN = "province_admin", "省级管理员"
    INSTITUTION_STAFF = "institution_staff", "培训机构人员"


ADMIN_ROLES = frozenset(
    {Role.SCHOOL_ADMIN, Role.COUNTY_ADMIN, Role.CITY_ADMIN, Role.PROVINCE_ADMIN}
)
DIVISION_ROLES = {Role.COUNTY_ADMIN: "county", Role.CITY_ADMIN: "city", Role.PROVINCE_ADMIN: "province"}


class User(AbstractUser):
    role = models.CharField("角色", max_length=20, choices=Role.choices, default=Role.TEACHER)
    division = models.ForeignKey(
        "org.Division", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    school = models.ForeignKey(
        "org.School", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    institution = models.ForeignKey(
        "org.Institution", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    teacher = models.OneToOneField(
        "people.Teacher", null=True, blank=True, on_delete=models.SET_NULL, related_name="account"
    )
    # Kept by notifications.services, so every page's header shows it without a query.
    unread_notices = models.PositiveIntegerField("未读站内信", default=0, editable=False)
    # The mobile number for log-in: only encrypted, plus a keyed blind index to find the account.
    mobile_cipher = models.CharField(max_length=120, blank=True, default="", editable=False)
    mobile_index = models.CharField(max_length=64, null=True, blank=True, unique=True, editable=False)
    # Set by an administrator's reset: until the user chooses a new password they can do nothing else.
    must_change_password = models.BooleanField("须修改密码", default=False, editable=False)

    class Meta:
        verbose_name = "用户"
        constraints = [
            # Each role is bound to exactly the kind of node it serves.
            models.CheckConstraint(
                name="accounts_user_role_binding",
                condition=(
                    models.Q(role__in=["province_admin", "city_admin", "county_admin"], division__isnull=False)
                    | models.Q(role="school_admin", school__isnull=False)
                    | models.Q(role="institution_staff", institution__isnull=False)
                    | models.Q(role__in=["teacher", "expert"])
                ),
            ),
            # A number and its index come together, or neither.
            models.CheckConstraint(
                name="accounts_user_mobile_pair",
                condition=models.Q(mobile_cipher="", mobile_index__isnull=True)
                | (~models.Q(mobile_cipher="") & models.Q(mobile_index__isnull=False)),
            ),
        ]

    @property
    def is_admin(self) -> bool:
        return self.role in ADMIN_ROLES

    @property
    def mobile(self) -> str:
        from accounts.mobile import mobile_decrypt

        return mobile_decrypt(self.mobile_cipher) if self.mobile_cipher else ""

    @property
    def mobile_masked(self) -> str:
        from accounts.mobile import mobile_mask

        return mobile_mask(self.mobile)

    @property
    def display_name(self) -> str:
        return self.get_full_name() or (self.teacher.name if self.teacher_id and self.teacher else "") or self.username

    @property
    def unit_label(self) -> str:
        """The unit the account serves: its division, school, institution or the teacher's school."""
        if self.division_id and self.division:
            return self.division.name
        if self.school_id and self.school:
            return self.school.name
        if self.institution_id and self.institution:
            return self.institution.name
        if self.teacher_id and self.teacher:
            return self.teacher.school.name
        return ""

    def get_session_auth_hash(self) -> str:
        # Binding the session to role and scope as well as the password means any
        # change of role, division, school, institution or teacher record (a
        # teacher's or expert's scope) logs the user out everywhere.
        binding = (
            f"{self.password}|{self.role}|{self.division_id}|{self.school_id}|{self.institution_id}"
            f"|{self.teacher_id}"
        )
        return salted_hmac(
            "yanxiu.accounts.session", binding, algorithm="sha256"
        ).hexdigest()


class ApiToken(models.Model):
    """A personal API token. Only its SHA-256 is stored; the secret is shown once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField("用途", max_length=100)
    prefix = models.CharField(max_length=12, editable=False)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager()

    class Meta:
        verbose_name = "API 令牌"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def hash_secret(secret: str) -> str:
        return hashlib.sha256(secret.encode()).hexdigest()
