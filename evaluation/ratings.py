"""Anonymous trainee ratings: the organiser opens a window on a project with a published rating
questionnaire; each enrolled (or completed) trainee rates once while it is open; at the close the
number of trainees entitled to rate is fixed on the window (the response rate's base).

A rating is two rows that share nothing but the window: a participation (who has rated: one vote,
the rate) and a response (the answers, under a random id, with no account, no time, no address).
Both are written in one transaction, which then deletes the window's responses and writes them
back in a random order under new random ids. So after it, every response of the window carries
the same transaction id (PostgreSQL xmin), sits in a random physical order (ctid) and a random id
order, and none can be told from another by when it came. The window row is locked FOR UPDATE
first, so the raters of one window take turns (and a second rating by one trainee finds the
first). The audit row and the logs say only that someone rated, never the answers or an id."""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from access.errors import Forbidden
from access.policy import Action, fetch, visible
from access.scope import Scope
from audit.actions import Action as Audit
from audit.services import audit_record
from catalog.constants import EnrolmentState
from catalog.models import Enrolment, Project
from evaluation.constants import InstrumentKind, InstrumentState
from evaluation.models import (
    Instrument,
    InstrumentItem,
    RatingParticipation,
    RatingResponse,
    RatingWindow,
)

# Who may rate a project, and who counts in the response rate's base.
RATERS = (EnrolmentState.ENROLLED, EnrolmentState.COMPLETED)
# A window opens no earlier than the project starts and closes at most this long after it ends.
CLOSE_AFTER_END_MAX = dt.timedelta(days=60)
ANSWER_KEYS_MAX = 200


def today() -> dt.date:
    """Beijing date (settings.TIME_ZONE is Asia/Shanghai)."""
    return timezone.localdate()


# --- windows --------------------------------------------------------------------------------


def _rating_instrument(scope: Scope, instrument_id: int | None) -> Instrument:
    row = visible(scope, Instrument).filter(pk=instrument_id or 0).first()
    if row is None or row.kind != InstrumentKind.RATING:
        raise ValidationError({"instrument": "请选择一份匿名评价问卷"})
    if row.state != InstrumentState.PUBLISHED:
        raise ValidationError({"instrument": "只能使用已发布的评价问卷"})
    if not row.items.exists():
        raise ValidationError({"instrument": "该问卷没有题目"})
    return row


def _window_problems(project: Project, opens_on: dt.date | None, closes_on: dt.date | None,
                     exclude_id: int | None = None) -> dict[str, str]:
    problems: dict[str, str] = {}
    if opens_on is None:
        problems["opens_on"] = "请填写开始日期"
    if closes_on is None:
        problems["closes_on"] = "请填写截止日期"
    if problems or opens_on is None or closes_on is None:
        return problems
    if closes_on < opens_on:
        problems["closes_on"] = "截止日期不能早于开始日期"
    elif opens_on < project.starts_on:
        problems["opens_on"] = f"评价不能早于项目开始（{project.starts_on}）"
    elif closes_on > project.ends_on + CLOSE_AFTER_END_MAX:
        problems["closes_on"] = f"评价最迟在项目结束后{CLOSE_AFTER_END_MAX.days}天内截止（{project.ends_on + CLOSE_AFTER_END_MAX}）"
    elif closes_on < today():
        problems["closes_on"] = "截止日期已过"
    else:
        overlapping = (project.rating_windows.filter(opens_on__lte=closes_on, closes_on__gte=opens_on)
                       .exclude(pk=exclude_id or 0))
        clash = overlapping.order_by("opens_on").first()
        if clash is not None:
            problems["opens_on"] = f"与已有的评价窗口（{clash.opens_on}至{clash.closes_on}）时间重叠"
    return problems


@transaction.atomic
def window_open(*, scope: Scope, actor, project_id: int, instrument_id: int | None, opens_on: dt.date | None,
                closes_on: dt.date | None, ip: str | None = None) -> RatingWindow:
    """The organiser (an administrator who may change the project; never the implementing
    institution) opens a rating window. The project row is locked, so two windows opened at once
    cannot overlap."""
    project = fetch(scope, Project, project_id, Action.CHANGE, lock=True)
    instrument = _rating_instrument(scope, instrument_id)
    problems = _window_problems(project, opens_on, closes_on)
    if problems:
        raise ValidationError(problems)
    window = RatingWindow.objects.create(project=project, instrument=instrument, opens_on=opens_on,
                                         closes_on=closes_on, created_by=actor)
    audit_record(action=Audit.RATING_WINDOW_OPEN, actor=actor, scope_path=project.division_path,
                 object_type="evaluation.ratingwindow", object_id=window.pk, ip=ip,
                 detail={"project": project.pk, "opens_on": str(opens_on), "closes_on": str(closes_on)})
    return window


def window_has_ratings(window: RatingWindow) -> bool:
    return window.participations.exists() or window.responses.exists()


@transaction.atomic
def window_change(*, scope: Scope, actor, window_id: int, instrument_id: int | None, opens_on: dt.date | None,
                  closes_on: dt.date | None, ip: str | None = None) -> RatingWindow:
    """Change a window's questionnaire or dates, while nobody has rated in it."""
    window = fetch(scope, RatingWindow, window_id, Action.CHANGE, lock=True)
    project = fetch(scope, Project, window.project_id, Action.CHANGE, lock=True)
    if window_has_ratings(window):
        raise ValidationError({"__all__": "已有学员评价的窗口不能修改"})
    instrument = _rating_instrument(scope, instrument_id)
    problems = _window_problems(project, opens_on, closes_on, exclude_id=window.pk)
    if problems:
        raise ValidationError(problems)
    window.instrument, window.opens_on, window.closes_on = instrument, opens_on, closes_on
    window.save(update_fields=["instrument", "opens_on", "closes_on"])
    audit_record(action=Audit.RATING_WINDOW_CHANGE, actor=actor, scope_path=project.division_path,
                 object_type="evaluation.ratingwindow", object_id=window.pk, ip=ip,
                 detail={"opens_on": str(opens_on), "closes_on": str(closes_on)})
    return window


@transaction.atomic
def window_delete(*, scope: Scope, actor, window_id: int, ip: str | None = None) -> None:
    """Remove a window nobody has rated in (opened by mistake); one with ratings stays for good."""
    window = fetch(scope, RatingWindow, window_id, Action.CHANGE, lock=True)
    project = fetch(scope, Project, window.project_id, Action.CHANGE, lock=True)
    if window_has_ratings(window):
        raise ValidationError({"__all__": "已有学员评价的窗口不能删除"})
    detail = {"project": project.pk, "opens_on": str(window.opens_on), "closes_on": str(window.closes_on)}
    pk = window.pk
    window.delete()
    audit_record(action=Audit.RATING_WINDOW_DELETE, actor=actor, scope_path=project.division_path,
                 object_type="evaluation.ratingwindow", object_id=pk, ip=ip, detail=detail)


def eligible_now(window: RatingWindow) -> int:
    """The trainees entitled to rate the window's project (enrolled or completed)."""
    return window.project.enrolments.filter(state__in=RATERS).count()


def fix_eligible(window: RatingWindow) -> RatingWindow:
    """Once the window has closed, fix the rate's base on it (the close task does this daily; a
    read of a closed window that the task has not reached yet does it then)."""
    if window.eligible is None and window.closes_on < today():
        window.eligible = eligible_now(window)
        window.save(update_fields=["eligible"])
    return window


def close_windows() -> int:
    """Daily: fix `eligible` on every window closed before today; then give each closed window shown
    in the province's results its 授课质量 score as the rating of the project's trainer bookings
    that have none. The number of windows fixed."""
    from evaluation.rating_results import delivery_rating, results_everywhere

    fixed = 0
    for window in RatingWindow.objects.dangerously_unscoped().filter(eligible__isnull=True, closes_on__lt=today()):
        fix_eligible(window)
        fixed += 1
    everywhere = results_everywhere()
    for cell in everywhere.windows.values():
        rating = delivery_rating(cell, everywhere.questions)
        if rating is not None and cell.project_id is not None:
            from trainers.models import TrainerBooking

            TrainerBooking.objects.dangerously_unscoped().filter(project_id=cell.project_id,
                                                                rating__isnull=True).update(rating=rating)
    return fixed


# --- rating ---------------------------------------------------------------------------------


def open_window(project: Project, on: dt.date | None = None) -> RatingWindow | None:
    on = on or today()
    return project.rating_windows.filter(opens_on__lte=on, closes_on__gte=on).select_related("instrument").first()


def clean_answers(items: list[InstrumentItem], scale: tuple[int, int], answers: Any) -> dict[str, int]:
    """Every item answered with a whole number on the scale, nothing else: the answers keyed by item
    number, or a ValidationError with one Chinese message per problem."""
    low, high = scale
    if not isinstance(answers, dict) or len(answers) > ANSWER_KEYS_MAX:
        raise ValidationError({"answers": "答案格式有误"})
    given = {str(key).strip(): value for key, value in answers.items()}
    numbers = {str(item.number) for item in items}
    problems: list[str] = []
    clean: dict[str, int] = {}
    for item in items:
        key = str(item.number)
        value = given.get(key)
        if value is None or value == "":
            problems.append(f"第{item.number}题未作答")
            continue
        try:
            number = int(str(value).strip())
        except ValueError:
            number = None
        if number is None or isinstance(value, bool) or isinstance(value, float) and value != int(value) \
                or not low <= number <= high:
            problems.append(f"第{item.number}题的答案应为{low}–{high}之间的整数")
            continue
        clean[key] = number
    if set(given) - numbers:
        problems.append("答案中有问卷没有的题目")
    if problems:
        raise ValidationError({"answers": problems})
    return clean


def _shuffle_responses(window: RatingWindow) -> None:
    """Write the window's responses back in a random order under new random ids, so that no order
    and no transaction id ties one to when it came."""
    answers = list(window.responses.values_list("answers", flat=True))
    secrets.SystemRandom().shuffle(answers)
    window.responses.all().delete()
    RatingResponse.objects.bulk_create([RatingResponse(id=uuid.uuid4(), window=window, answers=given)
                                        for given in answers])


def may_rate(scope: Scope, project: Project) -> bool:
    """The viewer is a trainee of the project, enrolled or completed."""
    return scope.teacher_id is not None and Enrolment.objects.visible_to(scope).filter(
        project=project, teacher_id=scope.teacher_id, state__in=RATERS).exists()


ALREADY = "您已评价过该项目，每人只能评价一次"


def rating_submit(*, scope: Scope, actor, project_id: int, answers: Any, ip: str | None = None) -> None:
    """The signed-in trainee's one anonymous rating of the project's open window. Returns nothing:
    the caller learns no id of the response."""
    if scope.teacher_id is None:
        raise Forbidden("只有参训学员本人可以评价")
    project = fetch(scope, Project, project_id)
    if not may_rate(scope, project):
        raise Forbidden("只有已录取或已结业的学员可以评价该项目")
    try:
        with transaction.atomic():
            window = open_window(project)
            if window is None:
                raise ValidationError({"__all__": "该项目当前不在评价时间内"})
            # Raters of one window take turns: the lock is held to the end of the transaction.
            window = fetch(scope, RatingWindow, window.pk, lock=True, select_related=("instrument",))
            if RatingParticipation.objects.visible_to(scope).filter(window=window).exists():
                raise ValidationError({"__all__": ALREADY})
            items = list(window.instrument.items.order_by("number"))
            clean = clean_answers(items, (window.instrument.scale_min, window.instrument.scale_max), answers)
            RatingParticipation.objects.create(window=window, teacher_id=scope.teacher_id)
            RatingResponse.objects.create(window=window, answers=clean)
            _shuffle_responses(window)
            audit_record(action=Audit.RATING_SUBMIT, actor=actor, scope_path=project.division_path,
                         object_type="evaluation.ratingwindow", object_id=window.pk, ip=ip)
    except IntegrityError as error:  # a second rating that raced past the check (the unique pair)
        raise ValidationError({"__all__": ALREADY}) from error


def has_rated(scope: Scope, window: RatingWindow) -> bool:
    return scope.teacher_id is not None and RatingParticipation.objects.visible_to(scope).filter(window=window).exists()


def windows_of(scope: Scope, project: Project) -> list[RatingWindow]:
    return list(visible(scope, RatingWindow).filter(project=project).select_related("instrument")
                .order_by("opens_on"))


def participation_count(window: RatingWindow) -> int:
    """How many have rated (for the organiser's response rate)."""
    return window.participations.count()


def rating_windows_for_teacher(scope: Scope) -> list[tuple[RatingWindow, bool]]:
    """The windows open today on the projects the teacher is enrolled in (or completed), and
    whether they have rated in each."""
    if scope.teacher_id is None:
        return []
    projects = Enrolment.objects.visible_to(scope).filter(teacher_id=scope.teacher_id, state__in=RATERS).values(
        "project_id")
    on = today()
    windows = list(visible(scope, RatingWindow).filter(Q(project_id__in=projects), opens_on__lte=on, closes_on__gte=on)
                   .select_related("project", "instrument").order_by("closes_on"))
    rated = set(RatingParticipation.objects.visible_to(scope).filter(window__in=windows)
                .values_list("window_id", flat=True))
    return [(window, window.pk in rated) for window in windows]
