"""The project form (validation proper lives in `services.project_create`)."""

from django import forms

from catalog.constants import Level, Mode, ProjectCategory, Topic
from credits.constants import Category


class ProjectForm(forms.Form):
    code = forms.CharField(label="项目编号", max_length=40)
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
    stages = forms.CharField(label="对象学段（逗号分隔代码，留空不限）", required=False)
    new_teachers = forms.BooleanField(label="仅限新教师", required=False)
    institution: forms.ModelChoiceField = forms.ModelChoiceField(
        label="实施机构", queryset=None, required=False,
        help_text="须持有覆盖本项目层级、类别、方式和日期的有效准入，项目才能发布；校本研修可不填")

    base: forms.ModelChoiceField = forms.ModelChoiceField(
        label="培训基地（跟岗研修）", queryset=None, required=False,
        help_text="跟岗研修项目须选择；名额按学期计入基地容量")

    def __init__(self, *args, institutions, bases, **kwargs):
        super().__init__(*args, **kwargs)
        # The institutions and bases the editor may name (access.policy, ASSIGN), chosen by the view.
        self.fields["institution"].queryset = institutions.order_by("name")  # type: ignore[attr-defined]
        self.fields["base"].queryset = bases.order_by("name")  # type: ignore[attr-defined]


class ProjectEditForm(ProjectForm):
    """Editing: code and level stay as created; seats change on the management page."""

    min_attendance_percent = forms.IntegerField(label="最低出勤率%", min_value=0, max_value=100)
    has_assessment = forms.BooleanField(label="有结业考核", required=False)

    def __init__(self, *args, institutions, bases, **kwargs):
        super().__init__(*args, institutions=institutions, bases=bases, **kwargs)
        for name in ("code", "level", "seats"):
            del self.fields[name]
