"""The navigation a signed-in user sees, from their role."""

from django.urls import reverse

from accounts.models import ADMIN_ROLES, Role


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    items = [("首页", reverse("core:home")), ("培训项目", reverse("catalog:project_list"))]
    if user.role in ADMIN_ROLES or (user.role in {Role.TEACHER, Role.EXPERT} and user.teacher_id):
        items += [("课程资源库", reverse("courses:course_list"))]
    if user.role in ADMIN_ROLES:
        items += [
            ("教师名册", reverse("people:teacher_list")),
            ("名册导入", reverse("people:roster_import")),
            ("学校", reverse("org:school_list")),
            ("学时审核", reverse("credits:claims")),
            ("学时达标", reverse("credits:compliance")),
            ("年度计划", reverse("catalog:plan_list")),
            ("培训基地", reverse("institutions:base_list")),
            ("指导问题", reverse("guidance:question_list")),
        ]
    if user.role in {Role.COUNTY_ADMIN, Role.CITY_ADMIN, Role.PROVINCE_ADMIN}:
        items += [
            ("区划", reverse("org:division_list")),
            ("机构", reverse("org:institution_list")),
            ("教研共同体", reverse("org:community_list")),
            ("专家指导团队", reverse("guidance:team_list")),
            ("机构准入", reverse("institutions:list")),
            ("机构名录", reverse("institutions:registry")),
            ("培训专家库", reverse("trainers:list")),
            ("学时规则", reverse("credits:rules")),
            ("外部学时导入", reverse("credits:external_import")),
            ("学习记录接入", reverse("learning:client_list")),
            ("计学时活动", reverse("learning:credited_list")),
            ("学习记录核查", reverse("learning:credit_queue")),
            ("导入课程目录", reverse("courses:catalogue_import")),
            ("审计日志", reverse("audit:event_list")),
        ]
    if user.role in {Role.TEACHER, Role.EXPERT} and user.teacher_id:
        items += [
            ("我的学时", reverse("credits:my_hours")),
            ("学时申报", reverse("credits:claim_new")),
            ("我的学习", reverse("courses:my_study")),
            ("学习记录", reverse("learning:my_records")),
            ("向我开放", reverse("catalog:open_to_me")),
            ("我的培训", reverse("catalog:my_enrolments")),
            ("我的日程", reverse("catalog:my_schedule")),
            ("我的档案", reverse("people:teacher_detail", args=[user.teacher_id])),
            ("向专家提问", reverse("guidance:ask")),
            ("我的提问", reverse("guidance:my_questions")),
        ]
        if user.role == Role.EXPERT:
            items += [("指导工作台", reverse("guidance:expert_inbox")), ("培训专家档案", reverse("trainers:mine"))]
    if user.role == Role.INSTITUTION_STAFF:
        items += [("机构准入", reverse("institutions:list")), ("培训基地", reverse("institutions:base_list"))]
    if user.role in ADMIN_ROLES:
        items += [("API 令牌", reverse("accounts:token_list"))]
    return {"nav_items": items}
