"""Expert guidance API (/api/v1/guidance/…): teams and their members and schools, coverage,
questions (ask, list, read with thread, answer, follow up, resolve, reassign), instant answers,
the dashboard and common problems. Each route resolves the caller's scope and calls one
selector or service; the services ask the access policy."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone
from ninja import Field, Query, Router, Schema

from access.policy import fetch
from access.scope import scope_for_user
from accounts.decorators import division_admin_scope
from core.requests import client_ip
from guidance import bank, clusters, questions, selectors, teams
from guidance.constants import QUESTION_MAX_CHARS, MemberRole, QuestionState
from guidance.dashboard import clean_period, dashboard
from guidance.models import Question
from org.models import Division
from people.models import Teacher

router = Router(tags=["专家指导"])


class TeamOut(Schema):
    id: int
    name: str
    division: str = Field(..., description="所属区划代码")
    stage: str
    subject: str
    is_active: bool
    members: int
    schools: int = Field(..., description="结对学校数")
    open_questions: int


class TeamIn(Schema):
    division: str = Field(..., description="区划代码（市或县）")
    name: str
    stage: str
    subject: str


def _team_out(team) -> TeamOut:
    return TeamOut(id=team.pk, name=team.name, division=team.division.code, stage=team.stage, subject=team.subject,
                   is_active=team.is_active, members=team.member_count, schools=team.school_count,
                   open_questions=team.open_count)


@router.get("/guidance/teams", response=list[TeamOut], summary="专家指导团队（本辖区；专家：所在团队）")
def team_list(request):
    return [_team_out(team) for team in selectors.teams(scope_for_user(request.auth))[:1000]]


@router.post("/guidance/teams", response={201: TeamOut}, summary="组建团队（市、县管理员）")
def team_create(request, payload: TeamIn):
    scope = division_admin_scope(request.auth, "只有县级及以上管理员可以组建专家指导团队")
    division = Division.objects.filter(code=payload.division).first()
    if division is None:
        raise ValidationError({"division": "区划代码不存在"})
    team = teams.team_create(scope=scope, actor=request.auth, division=division, name=payload.name,
                             stage=payload.stage, subject=payload.subject, ip=client_ip(request))
    return 201, _team_out(selectors.teams(scope).get(pk=team.pk))


class MemberIn(Schema):
    teacher_id: int
    role: MemberRole
    is_lead: bool = False
    is_available: bool = True


class MemberOut(Schema):
    id: int
    teacher_id: int
    name: str
    role: str
    is_lead: bool
    is_available: bool
    open_questions: int


class TeamDetailOut(TeamOut):
    member_list: list[MemberOut]
    school_ids: list[int]


@router.get("/guidance/teams/{int:team_id}", response=TeamDetailOut, summary="一个团队：成员与结对学校")
def team_detail(request, team_id: int):
    scope = scope_for_user(request.auth)
    team = selectors.teams(scope).filter(pk=team_id).first()
    if team is None:
        raise Http404
    members = [MemberOut(id=m.pk, teacher_id=m.teacher_id, name=m.teacher.name, role=m.role, is_lead=m.is_lead,
                         is_available=m.is_available, open_questions=getattr(m, "open_count", 0))
               for m in selectors.team_members(team)]
    return TeamDetailOut(**_team_out(team).dict(), member_list=members,
                         school_ids=[p.school_id for p in selectors.team_schools(team)])


@router.post("/guidance/teams/{int:team_id}/members", response=MemberOut, summary="加入或调整成员（身份、组长、是否接收问题）")
def member_save(request, team_id: int, payload: MemberIn):
    scope = division_admin_scope(request.auth, "只有县级及以上管理员可以调整团队成员")
    member = teams.member_save(scope=scope, actor=request.auth, team_id=team_id, teacher_id=payload.teacher_id,
                               role=payload.role, is_lead=payload.is_lead, is_available=payload.is_available,
                               ip=client_ip(request))
    return MemberOut(id=member.pk, teacher_id=member.teacher_id, name=member.teacher.name, role=member.role,
                     is_lead=member.is_lead, is_available=member.is_available,
                     open_questions=member.questions.filter(state__in=["waiting", "answered"]).count())


class PairIn(Schema):
    school_ids: list[int] = Field(..., max_length=5000)
    replace: bool = Field(False, description="学校已与其他团队结对时改为本团队")


class PairOut(Schema):
    paired: int


@router.post("/guidance/teams/{int:team_id}/schools", response=PairOut, summary="结对学校（“一对一”研修共同体）")
def schools_pair(request, team_id: int, payload: PairIn):
    scope = division_admin_scope(request.auth, "只有县级及以上管理员可以结对学校")
    made = teams.schools_pair(scope=scope, actor=request.auth, team_id=team_id, school_ids=payload.school_ids,
                              replace=payload.replace, ip=client_ip(request))
    return PairOut(paired=made)


class GapOut(Schema):
    school_id: int
    school_name: str
    stage: str
    subject: str
    teachers: int


class CoverageOut(Schema):
    teachers: int = Field(..., description="在岗教师×任教学科人次")
    teachers_covered: int
    schools: int
    schools_covered: int
    gaps: list[GapOut]


@router.get("/guidance/coverage", response=CoverageOut, summary="覆盖检查：每位教师每个任教学科是否有唯一的指导团队")
def coverage(request):
    scope = scope_for_user(request.auth)
    if scope.path is None:
        raise PermissionDenied("只有管理员可以查看覆盖检查")
    found = selectors.coverage(scope)
    return CoverageOut(teachers=found.teachers, teachers_covered=found.teachers_covered, schools=found.schools,
                       schools_covered=found.schools_covered,
                       gaps=[GapOut(**gap.__dict__) for gap in found.gaps[:5000]])


class QuestionIn(Schema):
    subject: str
    text: str = Field(..., max_length=QUESTION_MAX_CHARS * 2)
    shareable: bool = True
    accept_id: int | None = Field(None, description="采纳的已答问题编号：问题立即解决，不交给专家")


class MessageOut(Schema):
    id: int
    is_answer: bool
    author: str
    body: str
    created_at: dt.datetime


class QuestionOut(Schema):
    id: int
    stage: str
    subject: str
    text: str
    state: QuestionState
    team_id: int | None
    team: str | None
    assignee: str | None
    created_at: dt.datetime
    due_at: dt.datetime | None
    first_answered_at: dt.datetime | None
    resolved_at: dt.datetime | None
    matched_id: int | None
    escalation: int
    rating: int | None
    has_attachment: bool


class QuestionDetailOut(QuestionOut):
    messages: list[MessageOut]


def _question_out(q: Question) -> QuestionOut:
    return QuestionOut(
        id=q.pk, stage=q.stage, subject=q.subject, text=q.text, state=QuestionState(q.state), team_id=q.team_id,
        team=q.team.name if q.team else None, assignee=q.assignee.teacher.name if q.assignee else None,
        created_at=q.created_at, due_at=q.due_at, first_answered_at=q.first_answered_at, resolved_at=q.resolved_at,
        matched_id=q.matched_id, escalation=q.escalation, rating=q.rating, has_attachment=bool(q.attachment))


def _reloaded(scope, question_id: int) -> QuestionOut:
    question = selectors.question_get(scope, question_id)
    if question is None:
        raise Http404
    return _question_out(question)


@router.post("/guidance/questions", response={201: QuestionOut}, summary="教师提问（自动分派到团队中负荷最轻的专家）")
def ask(request, payload: QuestionIn):
    scope = scope_for_user(request.auth)
    question = questions.question_ask(scope=scope, user=request.auth, subject=payload.subject, text=payload.text,
                                      shareable=payload.shareable, accept_id=payload.accept_id)
    return 201, _reloaded(scope, question.pk)


class QuestionQuery(Schema):
    state: str = ""
    team_id: int | None = Field(None, ge=1, le=2**62)
    mine_to_answer: bool = Field(False, description="专家：只看交给我的")
    overdue: bool = False
    limit: int = Field(50, ge=1, le=500)


@router.get("/guidance/questions", response=list[QuestionOut], summary="可见的指导问题（本人、所在团队或辖区）")
def question_list(request, query: Query[QuestionQuery]):
    scope = scope_for_user(request.auth)
    rows = selectors.questions(scope, state=query.state, team_id=query.team_id, mine_to_answer=query.mine_to_answer,
                               overdue=query.overdue, now=timezone.now())
    return [_question_out(q) for q in rows[: query.limit]]


@router.get("/guidance/questions/{int:question_id}", response=QuestionDetailOut, summary="一个问题及其回复")
def question_detail(request, question_id: int):
    scope = scope_for_user(request.auth)
    question = selectors.question_get(scope, question_id)
    if question is None:
        raise Http404
    thread = [MessageOut(id=m.pk, is_answer=m.is_answer, author=(m.member.teacher.name if m.member else "提问人"),
                         body=m.body, created_at=m.created_at) for m in selectors.thread(question)]
    return QuestionDetailOut(**_question_out(question).dict(), messages=thread)


class BodyIn(Schema):
    body: str = Field(..., max_length=8000)


@router.post("/guidance/questions/{int:question_id}/answer", response={201: MessageOut}, summary="专家解答")
def answer(request, question_id: int, payload: BodyIn):
    message = questions.question_answer(scope=scope_for_user(request.auth), user=request.auth,
                                        question_id=question_id, body=payload.body)
    return 201, MessageOut(id=message.pk, is_answer=True, author=message.member.teacher.name if message.member else "",
                           body=message.body, created_at=message.created_at)


@router.post("/guidance/questions/{int:question_id}/follow-up", response={201: MessageOut}, summary="提问人追问")
def follow_up(request, question_id: int, payload: BodyIn):
    message = questions.question_follow_up(scope=scope_for_user(request.auth), user=request.auth,
                                           question_id=question_id, body=payload.body)
    return 201, MessageOut(id=message.pk, is_answer=False, author="提问人", body=message.body,
                           created_at=message.created_at)


class ResolveIn(Schema):
    rating: int | None = Field(None, ge=1, le=5)


@router.post("/guidance/questions/{int:question_id}/resolve", response=QuestionOut, summary="提问人标为已解决并评价")
def resolve(request, question_id: int, payload: ResolveIn):
    scope = scope_for_user(request.auth)
    questions.question_resolve(scope=scope, user=request.auth, question_id=question_id, rating=payload.rating)
    return _reloaded(scope, question_id)


class ReassignIn(Schema):
    member_id: int


@router.post("/guidance/questions/{int:question_id}/reassign", response=QuestionOut, summary="组长或团队管理员改派")
def reassign(request, question_id: int, payload: ReassignIn):
    scope = scope_for_user(request.auth)
    questions.question_reassign(scope=scope, actor=request.auth, question_id=question_id, member_id=payload.member_id,
                                ip=client_ip(request))
    return _reloaded(scope, question_id)


class SimilarOut(Schema):
    id: int
    text: str
    answer: str
    score: float


class SimilarQuery(Schema):
    subject: str
    text: str = Field(..., min_length=1, max_length=QUESTION_MAX_CHARS)
    k: int = Field(5, ge=1, le=10)


@router.get("/guidance/similar", response=list[SimilarOut], summary="即时解答：同学段学科已解答的相似问题")
def similar(request, query: Query[SimilarQuery]):
    subject, text, k = query.subject, query.text, query.k
    scope = scope_for_user(request.auth)
    if scope.teacher_id is None:
        raise PermissionDenied("只有教师可以查询相似问题")
    teacher = fetch(scope, Teacher, scope.teacher_id)
    found = bank.similar_questions(scope, stage=teacher.stage, subject=subject, text=text, k=k)
    return [SimilarOut(id=s.id, text=s.text, answer=s.answer, score=round(s.score, 4)) for s in found]


class BucketOut(Schema):
    label: str
    questions: int


class DashboardOut(Schema):
    start: dt.date
    end: dt.date
    asked: int
    answered: int
    resolved: int
    instant: int
    overdue: int
    rated: int
    satisfaction: float | None
    first_answer: list[BucketOut]
    teams: list[dict]
    waiting_by_division: list[dict]


@router.get("/guidance/dashboard", response=DashboardOut, summary="专家指导统计（本辖区）")
def dashboard_api(request, start: dt.date | None = None, end: dt.date | None = None):
    scope = scope_for_user(request.auth)
    if scope.path is None:
        raise PermissionDenied("只有管理员可以查看统计")
    start, end = clean_period(start, end, timezone.localdate())
    board = dashboard(scope, start=start, end=end)
    return DashboardOut(start=board.start, end=board.end, asked=board.asked, answered=board.answered,
                        resolved=board.resolved, instant=board.instant, overdue=board.overdue, rated=board.rated,
                        satisfaction=board.satisfaction,
                        first_answer=[BucketOut(label=label, questions=n) for label, n in board.buckets],
                        teams=board.teams, waiting_by_division=[{"name": d["name"], "waiting": d["waiting"]}
                                                                for d in board.divisions])


class ClusterOut(Schema):
    id: int
    division: str
    stage: str
    subject: str
    period_start: dt.date
    period_end: dt.date
    size: int
    keywords: list[str]
    examples: list[dict]
    project_id: int | None


def _cluster_out(c) -> ClusterOut:
    return ClusterOut(id=c.pk, division=c.division.code, stage=c.stage, subject=c.subject,
                      period_start=c.period_start, period_end=c.period_end, size=c.size, keywords=c.keywords,
                      examples=c.examples, project_id=c.project_id)


@router.get("/guidance/problems", response=list[ClusterOut], summary="共性问题（本辖区）")
def problem_list(request):
    scope = division_admin_scope(request.auth, "只有县级及以上管理员可以查看共性问题")
    return [_cluster_out(c) for c in clusters.clusters(scope)[:500]]


class ClusterIn(Schema):
    division: str = Field(..., description="区划代码")
    stage: str
    subject: str
    start: dt.date
    end: dt.date
    min_cluster_size: int = Field(5, ge=2, le=1000)


@router.post("/guidance/problems/refresh", response=list[ClusterOut], summary="按主题归类一段时间的问题")
def problems_refresh(request, payload: ClusterIn):
    scope = division_admin_scope(request.auth, "只有县级及以上管理员可以分析共性问题")
    division = Division.objects.filter(code=payload.division).first()
    if division is None:
        raise ValidationError({"division": "区划代码不存在"})
    made = clusters.clusters_refresh(scope=scope, division=division, stage=payload.stage, subject=payload.subject,
                                     start=payload.start, end=payload.end, min_cluster_size=payload.min_cluster_size)
    return [_cluster_out(c) for c in made]


class ProjectOut(Schema):
    project_id: int


@router.post("/guidance/problems/{int:cluster_id}/project", response={201: ProjectOut}, summary="共性问题转为线下培训项目草稿")
def problem_to_project(request, cluster_id: int):
    scope = division_admin_scope(request.auth, "只有县级及以上管理员可以创建项目")
    project = clusters.cluster_to_project(scope=scope, actor=request.auth, cluster_id=cluster_id, ip=client_ip(request))
    return 201, ProjectOut(project_id=project.pk)
