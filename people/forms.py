from django import forms

from org.constants import Stage
from people.constants import HonourTitle, Status, Subject, Title
from people.roster import columns as cols
from people.services import TeacherData


class TeacherFilterForm(forms.Form):
    q = forms.CharField(label="姓名或身份证号", required=False, max_length=50)
    division = forms.ChoiceField(label="区划", required=False, choices=[])
    school = forms.CharField(label="学校代码", required=False, max_length=10)
    stage = forms.ChoiceField(label="学段", required=False, choices=[("", "全部学段"), *Stage.choices])
    subject = forms.ChoiceField(label="学科", required=False, choices=[("", "全部学科"), *Subject.choices])
    title = forms.ChoiceField(label="职称", required=False, choices=[("", "全部职称"), *Title.choices])
    honour = forms.ChoiceField(label="荣誉", required=False, choices=[("", "不限荣誉"), *HonourTitle.choices])
    status = forms.ChoiceField(label="状态", required=False, choices=[("", "全部状态"), *Status.choices])
    new_teacher = forms.BooleanField(label="仅新教师", required=False)
    after = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)
    before = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)

    def __init__(self, *args, divisions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["division"].choices = [("", "全部区划")] + [
            (division.code, ("　" if division.level == "county" else "") + division.name) for division in divisions
        ]


class TeacherForm(forms.Form):
    """Edits the teacher's registry fields; ID number shown masked, replaced only if typed."""

    name = forms.CharField(label="姓名", max_length=50)
    id_number = forms.CharField(label="身份证号（不修改请留空）", max_length=18, required=False)
    school_code = forms.CharField(label="学校代码", max_length=10)
    stage = forms.ChoiceField(label="学段", choices=Stage.choices)
    main_subject = forms.ChoiceField(label="主教学科", choices=Subject.choices)
    other_subjects = forms.MultipleChoiceField(
        label="兼教学科", choices=Subject.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    title = forms.ChoiceField(label="职称", choices=Title.choices)
    hire_date = forms.DateField(label="入职日期", widget=forms.DateInput(attrs={"type": "date"}))
    status = forms.ChoiceField(label="状态", choices=Status.choices)
    honours = forms.CharField(
        label="荣誉（如：省级骨干教师(2021-09-01~2026-08-31)，多项用；分隔）", required=False, max_length=1000
    )

    def clean_honours(self):
        try:
            return cols.parse_honours(self.cleaned_data["honours"])
        except cols.CellError as error:
            raise forms.ValidationError(error.reason) from None

    def to_data(self, *, school, current_id_number: str) -> TeacherData:
        data = self.cleaned_data
        return TeacherData(
            name=data["name"], id_number=(data["id_number"] or current_id_number).strip().upper(), school=school,
            stage=data["stage"], subjects=[data["main_subject"], *(s for s in data["other_subjects"] if s != data["main_subject"])],
            title=data["title"], hire_date=data["hire_date"],
            status=data["status"], honours=data["honours"],
        )


class RosterUploadForm(forms.Form):
    file = forms.FileField(label="名册文件（.xlsx 或 .csv）")


class ExportForm(forms.Form):
    format = forms.ChoiceField(choices=[("xlsx", "Excel"), ("csv", "CSV")], initial="xlsx")
