"""The project form (validation proper lives in `services.project_create`). The audience and
the implementing institution are chosen from lists, never typed as codes; the project code
is generated on create."""

from django import forms

from catalog.constants import Level, Mode, ProjectCategory, Topic
from credits.constants import Category
from org.constants import Stage
from people.constants import HonourTitle, Subject, Title

AUDIENCE_FIELDS = ("stages", "subjects", "titles", "honours", "divisions")
IN_FORCE_MARK = "（准入有效）"


def _checkboxes(label: str, choices) -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(label=label, choices=choices, required=False,
                                     widget=forms.CheckboxSelectMultiple(attrs={"class": "pick"}))


class ProjectForm(forms.Form):
    title = forms.CharField(label="项目名称", max_length=200)
    outline = forms.CharField(label="内容简介", required=False, widget=forms.Textarea(attrs={"rows": 3}))
    level = forms.ChoiceField(label="层级", choices=Level.choices)
    category = forms.ChoiceField(label="类别", choices=ProjectCategory.choices)
    topics = forms.MultipleChoiceField(label="专题/能力", choices=Topic.choices, required=False)
    mode = forms.ChoiceField(label="方式", choices=Mode.choices)
    starts_on = forms.DateField(label="开始日期", widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(label="结束日期", widget=forms.DateInput(attrs={"type": "date"}))
    seats = forms.IntegerField(label="名额", min_value=1, max_value=100_000)
    hours = forms.DecimalField(label="学时", max_digits=6, decimal_places=1)
    hour_category = forms.ChoiceField(label="学时类别", choices=Category.choices)
    budget = forms.DecimalField(label="预算（元）", max_digits=12, decimal_places=2, initial=0)
    self_enrolment = forms.BooleanField(label="允许自主报名", required=False)
    needs_approval = forms.BooleanField(label="报名需审核", required=False, initial=True)
    is_high_end = forms.BooleanField(label="高端培训", required=False)
    institution: forms.ModelChoiceField = forms.ModelChoiceField(
        label="实施机构", queryset=None, required=False, empty_label="（未指定）",
        help_text="须持有覆盖本项目层级、类别、方式和日期的有效准入，项目才能发布；校本研修可不填")
    base: forms.ModelChoiceField = forms.ModelChoiceField(
        label="培训基地（跟岗研修）", queryset=None, required=False, empty_label="（不需要）",
        help_text="跟岗研修项目须选择；名额按学期计入基地容量")
    # The audience: each list left empty does not restrict.
    stages = _checkboxes("学段", Stage.choices)
    subjects = _checkboxes("任教学科", Subject.choices)
    titles = _checkboxes("职称", Title.choices)
    honours = _checkboxes("荣誉称号", HonourTitle.choices)
    divisions = forms.MultipleChoiceField(
        label="地区", required=False, widget=forms.SelectMultiple(attrs={"size": 10}),
        help_text="可多选（按住 Ctrl 或 ⌘ 点选）；选市即含其所辖县区")
    new_teachers = forms.BooleanField(label="仅限新教师（入职三年内）", required=False)

    def __init__(self, *args, institutions, bases, regions=(), in_force=frozenset(), **kwargs):
        super().__init__(*args, **kwargs)
        # The institutions and bases the editor may name (access.policy, ASSIGN), chosen by the view;
        # those holding an accreditation in force come first and are marked.
        institution_field = self.fields["institution"]
        institution_field.queryset = institutions.order_by("name")  # type: ignore[attr-defined]
        listed = list(institution_field.queryset)  # type: ignore[attr-defined]
        accredited = [(i.pk, f"{i.name}{IN_FORCE_MARK}") for i in listed if i.pk in in_force]
        others = [(i.pk, i.name) for i in listed if i.pk not in in_force]
        institution_field.choices = [("", "（未指定）"), *([("持有有效准入", accredited)] if accredited else []),
                                     *([("暂无有效准入（不能发布）", others)] if others else [])]
        base_field = self.fields["base"]
        base_field.queryset = bases.select_related("institution").order_by("name")  # type: ignore[attr-defined]
        listed_bases = list(base_field.queryset)  # type: ignore[attr-defined]
        listed_bases.sort(key=lambda b: (b.institution_id is None or b.institution_id not in in_force, b.name))
        base_field.choices = [("", "（不需要）"), *[
            (b.pk, f"{b.name}（{b.get_kind_display()}）" + (IN_FORCE_MARK if b.institution_id in in_force else ""))
            for b in listed_bases]]
        if regions:
            self.fields["divisions"].choices = regions  # type: ignore[attr-defined]
            if not any(isinstance(options, (list, tuple)) for _, options in regions):
                self.fields["divisions"].help_text = "可多选（按住 Ctrl 或 ⌘ 点选）"
        else:
            del self.fields["divisions"]  # a county's project serves the county; a region adds nothing

    def main_fields(self) -> list:
        return [self[name] for name in self.fields if name not in (*AUDIENCE_FIELDS, "new_teachers", "outline", "topics")]

    def pick_fields(self) -> list:
        return [self[name] for name in AUDIENCE_FIELDS if name in self.fields and name != "divisions"]

    def region_field(self):
        return self["divisions"] if "divisions" in self.fields else None

    def audience(self, keep: dict | None = None) -> dict:
        """The audience rule from the cleaned form; `keep`: the current rule, whose conditions the
        form does not show stay as they are."""
        rule = {k: v for k, v in (keep or {}).items() if k not in (*AUDIENCE_FIELDS, "new_teachers")}
        if "divisions" not in self.fields and (keep or {}).get("divisions"):
            rule["divisions"] = keep["divisions"]  # type: ignore[index]
        for name in AUDIENCE_FIELDS:
            if name not in self.fields:
                continue
            # Values the list cannot offer (older free-text entries) are not silently dropped.
            offered = {str(value) for value, _ in self._flat_choices(name)}
            chosen = [*self.cleaned_data.get(name, []),
                      *[v for v in (keep or {}).get(name) or [] if str(v) not in offered]]
            if chosen:
                rule[name] = chosen
        if self.cleaned_data.get("new_teachers"):
            rule["new_teachers"] = True
        return rule

    def _flat_choices(self, name: str) -> list:
        flat: list = []
        for value, label in self.fields[name].choices:  # type: ignore[attr-defined]
            flat.extend(label if isinstance(label, (list, tuple)) else [(value, label)])
        return flat

    def values(self) -> dict:
        """The cleaned fields that are the project's own (not the audience)."""
        return {k: v for k, v in self.cleaned_data.items() if k not in (*AUDIENCE_FIELDS, "new_teachers")}


class ProjectEditForm(ProjectForm):
    """Editing: code and level stay as created; seats change on the management page."""

    min_attendance_percent = forms.IntegerField(label="最低出勤率%", min_value=0, max_value=100)
    has_assessment = forms.BooleanField(label="有结业考核", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("level", "seats"):
            del self.fields[name]
