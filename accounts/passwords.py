"""Password rules beyond Django's: a lower bound in Chinese, an upper bound and context words (研修, yanxiu,
division names)."""

from django.core.exceptions import ValidationError

CONTEXT_WORDS = ("研修", "yanxiu", "henan", "河南", "jiaoshi", "教师", "password", "mima")


class MinimumLengthValidator:
    """Django's rule with a Chinese message (Django's zh_Hans catalogue leaves this one in English)."""

    def __init__(self, min_length: int = 8):
        self.min_length = min_length

    def validate(self, password: str, user=None) -> None:
        if len(password) < self.min_length:
            raise ValidationError(f"密码太短：至少需要 {self.min_length} 个字符。", code="password_too_short")

    def get_help_text(self) -> str:
        return f"密码至少 {self.min_length} 个字符。"


class MaximumLengthValidator:
    def __init__(self, max_length: int = 128):
        self.max_length = max_length

    def validate(self, password: str, user=None) -> None:
        if len(password) > self.max_length:
            raise ValidationError(f"密码不能超过 {self.max_length} 个字符。", code="password_too_long")

    def get_help_text(self) -> str:
        return f"密码不超过 {self.max_length} 个字符。"


class ContextWordValidator:
    """Refuse passwords built on the system's own name or a division name."""

    def validate(self, password: str, user=None) -> None:
        from org.models import Division

        lowered = password.lower()
        for word in CONTEXT_WORDS:
            if word in lowered:
                raise ValidationError("密码不能包含系统名称或常见词（如“研修”“yanxiu”）。", code="password_context")
        # Division names are short Chinese words; only look them up when the
        # password contains Chinese at all.
        if any("\u4e00" <= char <= "\u9fff" for char in password):
            for name in Division.objects.values_list("name", flat=True):
                # 开封市 -> 开封; 辉县市 -> 辉县; 杞县 has a one-character stem, so its full name counts.
                forms = {name, name.rstrip("省市"), name.rstrip("省市县区")}
                if any(len(form) >= 2 and form in password for form in forms):
                    raise ValidationError("密码不能包含行政区划名称。", code="password_context")

    def get_help_text(self) -> str:
        return "密码不能包含系统名称或行政区划名称。"
