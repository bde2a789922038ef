"""Self-selected study on the platform's own player: enrol, open the player, heartbeats,
completion, rating.

Opening the player (`study_start`) makes a study session bound to the Django session that
opened it and ends every other active session of the teacher (another tab, another device:
"已在其他页面学习"); a database constraint keeps one active session per teacher. The page
gets a signed token naming the session, course, user and (a digest of) the Django session key.
Each beat (`study_beat`) must carry that token, from that user and Django session, for that
course, with a sequence number above the last accepted one, from a session still active and
not expired; otherwise it is refused with a reason, counted on the session, and nothing is
credited. What an accepted beat earns is decided by learning.study_time from the server's
clock, never the browser's figures.

Completion (video: 95 % of the media watched and verified time of at least 90 % of the
duration at the highest playback rate; reading: verified time of the reading time) sends an
xAPI `completed` statement, with the verified time and the enrolment's registration, into
the LRS through the same service /xapi/ uses, from the platform's own LRS client; the LRS
credits the course's hours through the ledger as for any provider (once per teacher and
course: its ledger key and its duplicate check). `launched` on opening and `progressed` at
each quarter go the same way.
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
import math
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from access.errors import Forbidden
from access.policy import Action, fetch, require, visible
from access.scope import Scope
from learning.constants import PLAYABLE_FORMATS, CourseFormat, CourseState, SessionEnd, StudyState
from learning.models import Course, CourseEnrolment, StudySession
from learning.study_time import BeatReport, covered, judge_beat
from people.identity import keyed_digest
from people.models import Teacher

log = logging.getLogger(__name__)

TOKEN_SALT = "learning.study.beat"  # noqa: S105 - a signing salt, not a secret
TOKEN_MAX_AGE = 12 * 3600  # a page left open longer must be reloaded
MIN_BEAT_GAP = 1.0  # seconds: faster beats are refused (the JS never sends them)
COVERAGE_NEEDED = 0.95
TIME_FLOOR = 0.90  # of the duration at the highest playback rate
PROGRESS_STEP = 25  # percent between progressed statements


class Refusal:
    """Reason codes of refused beats (counted per session) and what the page shows."""

    BAD_SIGNATURE = "bad_signature"
    WRONG_BINDING = "wrong_binding"
    UNKNOWN_SESSION = "unknown_session"
    SUPERSEDED = "superseded"
    EXPIRED = "expired"
    REPLAYED = "replayed"
    TOO_FAST = "too_fast"
    BAD_INPUT = "bad_input"

    MESSAGES = {
        BAD_SIGNATURE: "学习凭证无效，请刷新页面",
        WRONG_BINDING: "学习凭证不属于当前账号、页面或课程",
        UNKNOWN_SESSION: "学习会话不存在，请刷新页面",
        SUPERSEDED: "已在其他页面学习，本页面不再计时",
        EXPIRED: "学习会话已超时，请刷新页面继续学习",
        REPLAYED: "重复或乱序的学习记录，未计时",
        TOO_FAST: "学习记录提交过于频繁，未计时",
        BAD_INPUT: "学习记录格式有误",
    }


@dataclass
class BeatResult:
    accepted: bool
    reason: str = ""  # a Refusal code
    credited_seconds: int = 0
    enrolment: CourseEnrolment | None = None
    just_completed: bool = False

    @property
    def message(self) -> str:
        return Refusal.MESSAGES.get(self.reason, "")


@dataclass
class StudyStart:
    enrolment: CourseEnrolment
    session: StudySession
    token: str


def session_digest(session_key: str) -> str:
    return keyed_digest("learning.study_session", session_key or "")


def playable(course: Course) -> str:
    """"" when the platform's player can play the course, else why not (Chinese)."""
    if course.format not in PLAYABLE_FORMATS:
        return "该课程形式不在本平台播放器学习"
    if not course.duration_seconds:
        return "该课程尚未提供学习时长，暂不能在本平台学习"
    if course.format == CourseFormat.VIDEO and not course.media_url:
        return "该课程尚未提供视频，暂不能在本平台学习"
    if course.format == CourseFormat.READING and not course.content:
        return "该课程尚未提供阅读内容，暂不能在本平台学习"
    return ""


def _studying_teacher(scope: Scope) -> Teacher:
    if scope.teacher_id is None:
        raise Forbidden("只有教师可以选学课程")
    return fetch(scope, Teacher, scope.teacher_id, Action.ENROL_SELF)


def course_enrol(*, scope: Scope, course_id: int) -> tuple[CourseEnrolment, bool]:
    """The teacher's enrolment in a published course open to them (made if new): (row, created)."""
    teacher = _studying_teacher(scope)
    course = fetch(scope, Course, course_id)  # 404 unless published and open to the teacher
    if course.state != CourseState.PUBLISHED:
        raise ValidationError({"course": "课程未发布，不能选学"})
    problem = playable(course)
    if problem:
        raise ValidationError({"course": problem})
    existing = visible(scope, CourseEnrolment).filter(course=course).select_related("course").first()
    if existing is not None:
        return existing, False
    row = CourseEnrolment(teacher=teacher, course=course)
    require(scope, Action.CHANGE, row)
    try:
        with transaction.atomic():
            row.save(force_insert=True)
    except IntegrityError:  # the same teacher enrolling twice at once: the other request won
        return visible(scope, CourseEnrolment).select_related("course").get(course=course), False
    return row, True


@transaction.atomic
def study_start(*, scope: Scope, user, course_id: int, session_key: str) -> StudyStart:
    """Open the player: enrol if needed, end the teacher's other active sessions, start one
    bound to this Django session, send `launched`."""
    enrolment, _ = course_enrol(scope=scope, course_id=course_id)
    # The teacher's row lock orders two tabs opening at once: each ends the other's session in turn.
    fetch(scope, Teacher, scope.teacher_id, Action.ENROL_SELF, lock=True)
    now = timezone.now()
    visible(scope, StudySession, Action.CHANGE).filter(active=True).update(active=False,
                                                                           ended_reason=SessionEnd.SUPERSEDED)
    session = StudySession.objects.create(enrolment=enrolment, teacher_id=scope.teacher_id,
                                          session_digest=session_digest(session_key), started_at=now, last_beat_at=now)
    if enrolment.state == StudyState.ENROLLED:
        enrolment.state = StudyState.IN_PROGRESS
    enrolment.last_studied_at = now
    enrolment.save(update_fields=["state", "last_studied_at"])
    _emit(user, enrolment, "launched", now)
    token = signing.dumps({"s": session.pk, "c": enrolment.course_id, "u": user.pk,
                           "k": session_digest(session_key)}, salt=TOKEN_SALT, compress=True)
    return StudyStart(enrolment=enrolment, session=session, token=token)


def _report(payload: dict) -> BeatReport | None:
    """The beat's body as numbers, or None when it is not what the player sends."""
    try:
        ranges = tuple((float(start), float(end)) for start, end in (payload.get("ranges") or [])[:50])
        position = float(payload.get("position") or 0)
    except (TypeError, ValueError):
        return None
    # JSON lets NaN and Infinity through float(); no player sends them, and they would be stored.
    if not all(math.isfinite(value) for value in (position, *(v for pair in ranges for v in pair))):
        return None
    return BeatReport(position=position, ranges=ranges, visible=payload.get("visible") is True,
                      playing=payload.get("playing") is True, active=payload.get("active") is True)


def _count(session: StudySession, reason: str) -> None:
    session.refusals = {**(session.refusals or {}), reason: (session.refusals or {}).get(reason, 0) + 1}
    session.save(update_fields=["refusals", "active", "ended_reason"])


def study_beat(*, scope: Scope, user, course_id: int, session_key: str, payload: dict) -> BeatResult:
    """Judge one heartbeat. Refusals credit nothing and are counted on the session they name
    when it is the caller's own."""
    try:
        claims = signing.loads(str(payload.get("token") or ""), salt=TOKEN_SALT, max_age=TOKEN_MAX_AGE)
    except signing.SignatureExpired:
        return BeatResult(accepted=False, reason=Refusal.EXPIRED)
    except signing.BadSignature:
        log.info("study beat refused: bad signature (user %s, course %s)", user.pk, course_id)
        return BeatResult(accepted=False, reason=Refusal.BAD_SIGNATURE)
    if not isinstance(claims, dict) or claims.get("u") != user.pk:
        return BeatResult(accepted=False, reason=Refusal.WRONG_BINDING)  # another account's token
    seq, report = payload.get("seq"), _report(payload)
    with transaction.atomic():
        session = (visible(scope, StudySession, Action.CHANGE).select_for_update(of=("self",))
                   .filter(pk=claims.get("s") if isinstance(claims.get("s"), int) else 0).first())
        if session is None:
            return BeatResult(accepted=False, reason=Refusal.UNKNOWN_SESSION)
        bound = (claims.get("c") == course_id and session.session_digest == claims.get("k")
                 and hmac.compare_digest(str(claims.get("k")), session_digest(session_key)))
        if not bound:  # another course's token, or this one replayed from another browser session
            return _refuse(session, Refusal.WRONG_BINDING)
        if not session.active:
            return _refuse(session, Refusal.SUPERSEDED if session.ended_reason == SessionEnd.SUPERSEDED
                           else Refusal.EXPIRED)
        now = timezone.now()
        elapsed = (now - session.last_beat_at).total_seconds()
        if elapsed > settings.LEARNING_SESSION_EXPIRY_SECONDS:
            session.active, session.ended_reason = False, SessionEnd.EXPIRED
            return _refuse(session, Refusal.EXPIRED)
        if not isinstance(seq, int) or isinstance(seq, bool) or report is None or not 0 < seq < 2**31:
            return _refuse(session, Refusal.BAD_INPUT)
        if seq <= session.last_seq:
            return _refuse(session, Refusal.REPLAYED)
        if elapsed < MIN_BEAT_GAP:
            return _refuse(session, Refusal.TOO_FAST)
        return _accept(scope, user, session, seq, report, elapsed, now)


def _refuse(session: StudySession, reason: str) -> BeatResult:
    _count(session, reason)
    return BeatResult(accepted=False, reason=reason)


def _accept(scope: Scope, user, session: StudySession, seq: int, report: BeatReport, elapsed: float,
            now: dt.datetime) -> BeatResult:
    enrolment = (visible(scope, CourseEnrolment, Action.CHANGE).select_for_update(of=("self",))
                 .select_related("course").get(pk=session.enrolment_id))
    course = enrolment.course
    outcome = judge_beat(elapsed=elapsed, report=report, watched=[tuple(pair) for pair in enrolment.watched],
                         position=enrolment.position_seconds, duration=float(course.duration_seconds),
                         reading=course.format == CourseFormat.READING,
                         cap_seconds=2.0 * settings.LEARNING_BEAT_SECONDS, max_rate=settings.LEARNING_MAX_RATE)
    credited = 0 if enrolment.state == StudyState.COMPLETED else int(round(outcome.credited_seconds))
    session.last_beat_at, session.last_seq = now, seq
    session.beats += 1
    session.credited_seconds += credited
    if outcome.refused_ranges:
        session.refusals = {**session.refusals, "range": session.refusals.get("range", 0) + outcome.refused_ranges}
    session.save(update_fields=["last_beat_at", "last_seq", "beats", "credited_seconds", "refusals"])
    enrolment.watched = [[round(a, 2), round(b, 2)] for a, b in outcome.watched]
    enrolment.watched_seconds = round(covered(outcome.watched), 2)
    enrolment.position_seconds = round(outcome.position, 2)
    enrolment.verified_seconds += credited
    enrolment.last_studied_at = now
    just_completed = enrolment.state != StudyState.COMPLETED and completion_reached(enrolment)
    fields = ["watched", "watched_seconds", "position_seconds", "verified_seconds", "last_studied_at"]
    if just_completed:
        enrolment.state, enrolment.completed_at = StudyState.COMPLETED, now
        fields += ["state", "completed_at"]
    elif enrolment.state != StudyState.COMPLETED and enrolment.percent >= enrolment.progress_reported + PROGRESS_STEP:
        enrolment.progress_reported = enrolment.percent // PROGRESS_STEP * PROGRESS_STEP
        fields.append("progress_reported")
        _emit(user, enrolment, "progressed", now)
    enrolment.save(update_fields=fields)
    if just_completed:
        visible(scope, Course).filter(pk=course.pk).update(completion_count=F("completion_count") + 1)
        _emit(user, enrolment, "completed", now)
    return BeatResult(accepted=True, credited_seconds=credited, enrolment=enrolment, just_completed=just_completed)


def completion_reached(enrolment: CourseEnrolment) -> bool:
    course = enrolment.course
    duration = course.duration_seconds
    if not duration:
        return False
    if course.format == CourseFormat.READING:
        return enrolment.verified_seconds >= duration
    floor = TIME_FLOOR * duration / settings.LEARNING_MAX_RATE
    return enrolment.watched_seconds >= COVERAGE_NEEDED * duration and enrolment.verified_seconds >= floor


@transaction.atomic
def course_rate(*, scope: Scope, course_id: int, stars: int) -> CourseEnrolment:
    """Rate a completed course 1–5, once."""
    if not isinstance(stars, int) or not 1 <= stars <= 5:
        raise ValidationError({"rating": "评分应为 1 到 5"})
    enrolment = (visible(scope, CourseEnrolment, Action.CHANGE).select_for_update(of=("self",))
                 .filter(course_id=course_id).first())
    if enrolment is None or enrolment.state != StudyState.COMPLETED:
        raise ValidationError({"rating": "完成课程后才能评分"})
    if enrolment.rating is not None:
        raise ValidationError({"rating": "已评过分"})
    # The course's totals first: a course retired since is not rated (nothing written, not half).
    if not visible(scope, Course).filter(pk=course_id).update(rating_sum=F("rating_sum") + stars,
                                                              rating_count=F("rating_count") + 1):
        raise ValidationError({"rating": "课程已下架，不能评分"})
    enrolment.rating = stars
    enrolment.save(update_fields=["rating"])
    return enrolment


# --- xAPI statements to the platform's own LRS client --------------------------------------------

PLAYER_CLIENT_KEY = "lrs_platform_player"
PLAYER_CLIENT_NAME = "本平台播放器"
VERB_NAMES = {"launched": "启动", "progressed": "学习进度", "completed": "完成"}


def player_client():
    """The LRS client the player writes as (made on first use, owned by the province: it may
    write about any course's IRI). Its secret is never used: the player stores in-process."""
    from lrs.clients import client_create
    from lrs.models import LrsClient
    from org.models import Division

    province = Division.objects.get(level="province")
    scope = Scope.division(province)
    found = LrsClient.objects.visible_to(scope).filter(key=PLAYER_CLIENT_KEY).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            client, _ = client_create(scope=scope, actor=None, name=PLAYER_CLIENT_NAME, division=province,
                                      activity_prefixes=["*"], rate_per_minute=100_000)
            LrsClient.objects.visible_to(scope).filter(pk=client.pk).update(key=PLAYER_CLIENT_KEY)
    except IntegrityError:  # made by a concurrent first completion
        pass
    return LrsClient.objects.visible_to(scope).get(key=PLAYER_CLIENT_KEY)


def _iso_duration(seconds: int) -> str:
    return f"PT{int(seconds)}S"


def statement_for(user, enrolment: CourseEnrolment, verb: str, moment: dt.datetime) -> dict:
    """The xAPI statement of one step: the teacher as an account on this platform (the LRS
    matches it to the teacher by user name), the course's activity IRI, the registration."""
    course = enrolment.course
    statement: dict = {
        "id": str(uuid.uuid4()),
        "actor": {"objectType": "Agent", "account": {"homePage": settings.LRS_ACCOUNT_HOMEPAGE, "name": user.username}},
        "verb": {"id": f"http://adlnet.gov/expapi/verbs/{verb}", "display": {"zh-CN": VERB_NAMES[verb], "en-US": verb}},
        "object": {"objectType": "Activity", "id": course.activity_iri, "definition": {
            "name": {"zh-CN": course.title}, "type": "http://adlnet.gov/expapi/activities/course"}},
        "context": {"registration": str(enrolment.registration), "platform": "研修平台播放器"},
        "timestamp": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }
    if verb == "progressed":
        statement["result"] = {"duration": _iso_duration(enrolment.verified_seconds), "extensions": {
            "https://w3id.org/xapi/cmi5/result/extensions/progress": enrolment.percent}}
    elif verb == "completed":
        statement["result"] = {"completion": True, "duration": _iso_duration(enrolment.verified_seconds)}
    return statement


def _emit(user, enrolment: CourseEnrolment, verb: str, moment: dt.datetime) -> None:
    from lrs.statements import statements_store

    client = player_client()
    statements_store(scope=Scope.for_client(client), client=client,
                     statements=[statement_for(user, enrolment, verb, moment)])
