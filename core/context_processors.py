"""The navigation a signed-in user sees, from their role: a few groups, each a menu, so the
header stays one row on a desktop and folds into one button on a phone."""

from django.urls import reverse

from accounts.models import ADMIN_ROLES, Role

DIVISION_ADMINS = {Role.COUNTY_ADMIN, Role.CITY_ADMIN, Role.PROVINCE_ADMIN}


def _groups(user) -> list[tuple[str, list[tuple[str, str]]]]:
    admin, division = user.role in ADMIN_ROLES, user.role in DIVISION_ADMINS
    member = user.role in {Role.TEACHER, Role.EXPERT} and user.teacher_id
    groups: list[tuple[str, list[tuple[str, str]]]] = []
    if member:
        groups += [
            ("我的学习", [("我的学时", reverse("credits:my_hours")), ("学时申报", reverse("credits:claim_new")),
                      ("课程资源库", reverse("courses:course_list")), ("我的学习", reverse("courses:my_study")),
                      ("学习记录", reverse("learning:my_records"))]),
            ("我的培训", [("向我开放", reverse("catalog:open_to_me")), ("我的培训", reverse("catalog:my_enrolments")),
                      ("我的日程", reverse("catalog:my_schedule")), ("全部培训项目", reverse("catalog:project_list"))]),
            ("专家指导", [("向专家提问", reverse("guidance:ask")), ("我的提问", reverse("guidance:my_questions"))]
             + ([("指导工作台", reverse("guidance:expert_inbox")), ("培训专家档案", reverse("trainers:mine"))]
                if user.role == Role.EXPERT else [])),
            ("培训评价", [("我的测评", reverse("evaluation:my_assessments")),
                      ("匿名评价", reverse("evaluation:rating_mine"))]
             + ([("我的视导", reverse("evaluation:supervision_mine"))] if user.role == Role.EXPERT else [])),
            ("我的档案", [("我的档案", reverse("people:teacher_detail", args=[user.teacher_id]))]),
        ]
    if admin:
        training = [("培训项目", reverse("catalog:project_list")), ("年度计划", reverse("catalog:plan_list")),
                    ("培训基地", reverse("institutions:base_list"))]
        if division:
            training += [("机构准入", reverse("institutions:list")), ("机构名录", reverse("institutions:registry")),
                         ("培训专家库", reverse("trainers:list"))]
        people = [("教师名册", reverse("people:teacher_list")), ("名册导入", reverse("people:roster_import")),
                  ("学校", reverse("org:school_list"))]
        if division:
            people += [("区划", reverse("org:division_list")), ("机构", reverse("org:institution_list")),
                       ("教研共同体", reverse("org:community_list"))]
        hours = [("学时审核", reverse("credits:claims")), ("学时达标", reverse("credits:compliance"))]
        if division:
            hours += [("学时规则", reverse("credits:rules")), ("外部学时导入", reverse("credits:external_import"))]
        learning = [("课程资源库", reverse("courses:course_list"))]
        if division:
            learning += [("导入课程目录", reverse("courses:catalogue_import")),
                         ("学习记录接入", reverse("learning:client_list")),
                         ("计学时活动", reverse("learning:credited_list")),
                         ("学习记录核查", reverse("learning:credit_queue"))]
        guidance = [("指导问题", reverse("guidance:question_list"))]
        if division:
            guidance += [("专家指导团队", reverse("guidance:team_list"))]
        system = ([("审计日志", reverse("audit:event_list"))] if division else []) + [
            ("账户管理", reverse("accounts:user_list")), ("API 令牌", reverse("accounts:token_list"))]
        evaluation = [("绩效排名", reverse("evaluation:ranking_list")), ("末位淘汰", reverse("evaluation:case_list")),
                      ("匿名评价结果", reverse("evaluation:rating_results")),
                      ("测评工具", reverse("evaluation:instrument_list"))]
        if division:
            evaluation += [("评分量规", reverse("evaluation:rubric_list")),
                           ("我的视导", reverse("evaluation:supervision_mine")),
                           ("教学成效数据", reverse("evaluation:outcome_list")),
                           ("评价权重", reverse("evaluation:performance_weights"))]
        # High-end quotas and funding share one menu: both are the planning unit's targets and money.
        planning = ([("高端培训任务", reverse("quotas:targets"))] if division else []) + [
            ("名额分配", reverse("quotas:allocation_list"))] + (
            [("高端培训推荐", reverse("quotas:selection_home"))] if division else [])
        planning += [("经费概览", reverse("funding:overview"))]
        if division:
            planning += [("缺口清单", reverse("funding:gaps")), ("工资总额与比例", reverse("funding:division_figures")),
                         ("培训经费预算", reverse("funding:budgets")), ("项目预算与支出", reverse("funding:projects"))]
        planning += [("学校经费填报", reverse("funding:school_figures")), ("经费数据导入", reverse("funding:import"))]
        groups += [("培训管理", training), ("教师与学校", people), ("学时", hours), ("课程与学习", learning),
                   ("专家指导", guidance), ("培训评价", evaluation), ("名额与经费", planning), ("系统", system)]
    if user.role == Role.INSTITUTION_STAFF:
        groups += [("本机构", [("培训项目", reverse("catalog:project_list")), ("机构准入", reverse("institutions:list")),
                            ("培训基地", reverse("institutions:base_list")),
                            ("绩效排名", reverse("evaluation:ranking_list")),
                            ("末位淘汰", reverse("evaluation:case_list")),
                            ("匿名评价结果", reverse("evaluation:rating_results"))])]
    if not groups:
        groups = [("培训项目", [("培训项目", reverse("catalog:project_list"))])]
    return groups


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_groups": [], "nav_items": []}
    groups = _groups(user)
    path = request.path
    # A group is current when one of its pages is (the longest matching prefix wins).
    best = max((url for _, links in groups for _, url in links if path.startswith(url)), key=len, default="")
    nav = [{"label": label, "links": links, "current": any(url == best for _, url in links), "current_url": best}
           for label, links in groups]
    flat = [("首页", reverse("core:home"))] + [link for _, links in groups for link in links]
    return {"nav_groups": nav, "nav_items": flat}
