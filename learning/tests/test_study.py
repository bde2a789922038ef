"""Self-selected study on the platform's player, through the real endpoints with the test
client and time-machine for the clock: enrol, beats, refusals (forged, other user / session /
course, replayed, out of order, too fast, superseded, expired), one active session per
teacher, completion sending a statement the LRS stores and credits exactly once, rating,
scope — and a "刷课" script that gains nothing."""

import datetime as dt
import json

import pytest
from django.core import signing
from django.core.exceptions import ValidationError
from django.test import Client

from access.scope import scope_for_user
from credits.models import LedgerEntry
from learning.catalogue import catalogue_import
from learning.models import Course, CourseEnrolment, StudySession
from learning.services import course_publish
from learning.study import TOKEN_SALT, session_digest
from lrs.models import Statement, StatementCredit

START = dt.datetime(2026, 10, 12, 1, 0, tzinfo=dt.UTC)
DURATION = 20 * 60  # a 20-minute video of 1 hour: the LRS wants ≥ 15 min between launch and completion


def _course(users, *, who="province_admin", code="V-1", format="video", minutes="20", hours="1", **extra) -> Course:
    user = users[who]
    scope = scope_for_user(user)
    row = {"provider": "smartedu", "code": code, "title": f"课程{code}", "hours": hours, "format": format,
           "duration_minutes": minutes, **extra}
    if format == "video":
        row.setdefault("media_url", "/static/learning/short-clip.webm")
    else:
        row.setdefault("content", "阅读材料正文。")
    report = catalogue_import(scope=scope, actor=user, division=user.division, rows=[(1, row)], source="test")
    assert report.applied, report.rows
    return course_publish(scope=scope, actor=user, course_id=report.rows[0].course_id)


@pytest.fixture
def video(providers, users):
    return _course(users)


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(START, tick=False)
    return time_machine


class Player:
    """One opened player page: the start call and then beats, like static/js/player.js."""

    def __init__(self, client: Client, course: Course, clock):
        self.client, self.course, self.clock = client, course, clock
        response = client.post(f"/learning/courses/{course.pk}/study/start/")
        assert response.status_code == 200, response.content
        self.token, self.seq, self.position = response.json()["token"], 0, response.json()["position"]

    def beat(self, seconds=15.0, *, ranges=None, position=None, visible=True, playing=True, active=False, seq=None,
             token=None, course=None):
        self.clock.shift(dt.timedelta(seconds=seconds))
        if ranges is None:  # honest playing at 1× since the last beat
            ranges = [[self.position, min(self.position + seconds, DURATION)]]
        if seq is None:
            self.seq += 1
        end = ranges[-1][1] if ranges else self.position
        body = {"token": self.token if token is None else token, "seq": self.seq if seq is None else seq,
                "position": end if position is None else position, "ranges": ranges, "visible": visible,
                "playing": playing, "active": active}
        response = self.client.post(f"/learning/courses/{(course or self.course).pk}/study/beat/",
                                    data=json.dumps(body), content_type="application/json")
        if response.status_code == 200:
            self.position = response.json()["position"]
        return response.status_code, response.json()


def _enrolment(teacher) -> CourseEnrolment:
    return CourseEnrolment.objects.dangerously_unscoped().get(teacher=teacher)


def _hours(teacher) -> list:
    return list(LedgerEntry.objects.dangerously_unscoped().filter(teacher=teacher).values_list("hours", flat=True))


def test_watching_the_whole_video_completes_it_and_the_lrs_credits_the_hours_once(
        video, users, province, client_for, clock, django_capture_on_commit_callbacks):
    client = client_for(users["teacher"])
    with django_capture_on_commit_callbacks(execute=True):
        player = Player(client, video, clock)
        answers = [player.beat() for _ in range(DURATION // 15)]
    assert all(status == 200 for status, _ in answers)
    done = [n for n, (_, answer) in enumerate(answers) if answer["completed_now"]]
    assert done == [int(DURATION * 0.95) // 15 - 1]  # at 95 % watched, once
    assert answers[-1][1]["state"] == "completed"
    enrolment = _enrolment(province.teacher)
    # time after completion is not counted any more
    assert enrolment.state == "completed" and enrolment.verified_seconds == (done[0] + 1) * 15
    assert enrolment.percent == 100
    # the statements went into the LRS as the platform's client, the teacher matched by user name
    verbs = list(Statement.objects.dangerously_unscoped().filter(teacher=province.teacher).order_by("seq")
                 .values_list("verb_id", flat=True))
    assert verbs[0].endswith("/launched") and verbs[-1].endswith("/completed")
    assert sum(verb.endswith("/progressed") for verb in verbs) == 3  # 25, 50, 75 %
    completed = Statement.objects.dangerously_unscoped().get(verb_id__endswith="/completed")
    assert completed.full["result"] == {"completion": True, "duration": f"PT{enrolment.verified_seconds}S"}
    assert completed.full["context"]["registration"] == str(enrolment.registration)
    assert StatementCredit.objects.dangerously_unscoped().get().state == "credited"
    assert _hours(province.teacher) == [video.hours]
    assert Course.objects.dangerously_unscoped().get(pk=video.pk).completion_count == 1
    # studying it again credits nothing more: no second completion, no second entry
    with django_capture_on_commit_callbacks(execute=True):
        again = Player(client, video, clock)
        status, answer = again.beat()
    assert status == 200 and answer["credited_seconds"] == 0 and answer["state"] == "completed"
    assert _hours(province.teacher) == [video.hours]
    assert Statement.objects.dangerously_unscoped().filter(verb_id__endswith="/completed").count() == 1
    # the statements are real xAPI: a client that reads all finds them at GET /xapi/statements
    assert completed.full["actor"]["account"]["name"] == users["teacher"].username


def test_completion_is_credited_once_even_if_the_lrs_hears_it_twice(video, users, province, client_for, clock,
                                                                   django_capture_on_commit_callbacks):
    from learning.study import _emit

    client = client_for(users["teacher"])
    with django_capture_on_commit_callbacks(execute=True):
        player = Player(client, video, clock)
        for _ in range(DURATION // 15):
            player.beat()
        _emit(users["teacher"], _enrolment(province.teacher), "completed", START + dt.timedelta(hours=1))
    assert _hours(province.teacher) == [video.hours]
    states = sorted(StatementCredit.objects.dangerously_unscoped().values_list("state", flat=True))
    assert states == ["credited", "flagged"]


def test_a_shuake_script_gains_nothing(video, users, province, client_for, clock, django_capture_on_commit_callbacks):
    """What scripts do on other platforms: post the final position, claim the whole video, post
    completion, forge and replay tokens, beat fast, open many tabs."""
    client = client_for(users["teacher"])
    with django_capture_on_commit_callbacks(execute=True):
        player = Player(client, video, clock)
        # the end of the video straight away, and the whole video as one range
        assert player.beat(1, ranges=[[DURATION - 5, DURATION]], position=DURATION)[1]["percent"] == 0
        status, answer = player.beat(1, ranges=[[0, DURATION]], position=DURATION)
        assert answer["percent"] == 0 or answer["verified_seconds"] <= 2
        # forged tokens: made up, and re-signed with another key
        forged = signing.dumps({"s": 1, "c": video.pk, "u": users["teacher"].pk, "k": "x"}, key="guess", salt=TOKEN_SALT)
        assert player.beat(15, token=forged)[1]["code"] == "bad_signature"
        assert player.beat(15, token="completed")[1]["code"] == "bad_signature"
        # replays and a flood of fast beats
        assert player.beat(15, seq=1)[1]["code"] == "replayed"
        before = _enrolment(province.teacher).verified_seconds
        floods = [player.beat(0.2) for _ in range(30)]
        fast = sum(answer["code"] == "too_fast" for _, answer in floods)
        assert fast >= 20 and {answer["code"] for _, answer in floods} == {"too_fast", "accepted"}
        assert _enrolment(province.teacher).verified_seconds - before <= 6  # 30 × 0.2 s of wall time
        # completion posted directly: there is no such endpoint, and the API has none either
        assert client.post(f"/learning/courses/{video.pk}/study/complete/").status_code == 404
        assert client.post(f"/api/v1/learning/courses/{video.pk}/complete").status_code in (404, 405)
        # two tabs: the first is superseded and earns nothing from then on
        second = Player(client, video, clock)
        assert player.beat(15)[1]["code"] == "superseded"
        # the script keeps beating much faster than real time on the live tab: capped
        for _ in range(40):
            second.beat(15, ranges=[[second.position, second.position + 300]])
    enrolment = _enrolment(province.teacher)
    wall = 1 + 1 + 15 * 4 + 6 + 40 * 15  # every second the script waited
    assert enrolment.state != "completed" and enrolment.watched_seconds <= wall * 2
    assert enrolment.verified_seconds <= wall
    assert _hours(province.teacher) == []
    assert not Statement.objects.dangerously_unscoped().filter(verb_id__endswith="/completed").exists()
    refusals = StudySession.objects.dangerously_unscoped().filter(teacher=province.teacher).order_by("pk")[0].refusals
    assert refusals["replayed"] == 1 and refusals["too_fast"] == fast and refusals["superseded"] == 1


def test_beats_bound_to_another_user_session_or_course_are_refused(video, providers, users, province, client_for, clock):
    other = _course(users, code="V-2")
    client = client_for(users["teacher"])
    player = Player(client, video, clock)
    # another course's URL with this token
    assert player.beat(course=other)[1]["code"] == "wrong_binding"
    # the same token from another browser session of the same teacher
    thief = Client()
    thief.force_login(users["teacher"])
    stolen = Player.__new__(Player)
    stolen.client, stolen.course, stolen.clock, stolen.token, stolen.seq, stolen.position = (
        thief, video, clock, player.token, 50, 0.0)
    assert stolen.beat()[1]["code"] == "wrong_binding"
    # another teacher using this teacher's token
    someone = Client()
    someone.force_login(users["sibling_teacher_user"])
    borrowed = Player.__new__(Player)
    borrowed.client, borrowed.course, borrowed.clock, borrowed.token, borrowed.seq, borrowed.position = (
        someone, video, clock, player.token, 50, 0.0)
    assert borrowed.beat()[1]["code"] == "wrong_binding"
    # a validly signed token naming a session of someone else
    mine = StudySession.objects.dangerously_unscoped().get(teacher=province.teacher)
    crafted = signing.dumps({"s": mine.pk, "c": video.pk, "u": users["sibling_teacher_user"].pk,
                             "k": session_digest(someone.session.session_key)}, salt=TOKEN_SALT, compress=True)
    status, answer = borrowed.beat(token=crafted)
    assert status == 409 and answer["code"] == "unknown_session" and answer["detail"]
    # out of order: seq 3 after seq 5
    assert player.beat(seq=5)[0] == 200
    assert player.beat(seq=3)[1]["code"] == "replayed"
    assert _enrolment(province.teacher).verified_seconds == 15


def test_one_active_session_per_teacher_across_courses(video, providers, users, province, client_for, clock):
    other = _course(users, code="V-2")
    client = client_for(users["teacher"])
    first = Player(client, video, clock)
    second = Player(client, other, clock)  # another course in another tab
    assert first.beat()[1]["detail"] == "已在其他页面学习，本页面不再计时"
    assert second.beat()[0] == 200
    assert StudySession.objects.dangerously_unscoped().filter(teacher=province.teacher, active=True).count() == 1
    credited = dict(CourseEnrolment.objects.dangerously_unscoped().filter(teacher=province.teacher)
                    .values_list("course_id", "verified_seconds"))
    assert credited == {video.pk: 0, other.pk: 15}  # two tabs never both credit


def test_a_session_left_silent_expires(video, users, province, client_for, clock):
    player = Player(client_for(users["teacher"]), video, clock)
    assert player.beat(15)[0] == 200
    status, answer = player.beat(11 * 60)
    assert status == 409 and answer["code"] == "expired"
    assert player.beat(15)[1]["code"] == "expired"
    session = StudySession.objects.dangerously_unscoped().get(teacher=province.teacher)
    assert not session.active and session.ended_reason == "expired" and session.refusals == {"expired": 2}


def test_hidden_paused_and_idle_time_is_not_credited(video, providers, users, province, client_for, clock):
    client = client_for(users["teacher"])
    player = Player(client, video, clock)
    player.beat(visible=False)
    player.beat(playing=False, ranges=[])
    assert _enrolment(province.teacher).verified_seconds == 0
    reading = _course(users, code="R-1", format="reading", minutes="1")
    reader = Player(client, reading, clock)
    assert reader.beat(ranges=[], active=False)[1]["verified_seconds"] == 0
    for _ in range(4):
        status, answer = reader.beat(ranges=[], active=True)
    assert answer["verified_seconds"] == 60 and answer["state"] == "completed"


def test_resume_position_and_my_study_page_and_api(video, users, province, client_for, clock,
                                                   django_assert_max_num_queries):
    client = client_for(users["teacher"])
    player = Player(client, video, clock)
    for _ in range(4):
        player.beat()
    again = Player(client, video, clock)
    assert again.position == 60
    with django_assert_max_num_queries(8):
        page = client.get("/learning/courses/mine/").content.decode()
    assert video.title in page and "5%" in page and "继续学习" in page
    detail = client.get(f"/learning/courses/{video.pk}/").content.decode()
    assert "继续学习（5%）" in detail
    mine = client.get("/api/v1/me/enrolments").json()
    assert mine[0]["course_id"] == video.pk and mine[0]["percent"] == 5 and mine[0]["verified_seconds"] == 60


def test_enrol_api_and_rating_after_completion(video, users, province, client_for, clock):
    client = client_for(users["teacher"])
    assert client.post(f"/api/v1/learning/courses/{video.pk}/enrol").status_code == 201
    again = client.post(f"/api/v1/learning/courses/{video.pk}/enrol")
    assert again.status_code == 200 and again.json()["state"] == "enrolled"
    response = client.post(f"/learning/courses/{video.pk}/rate/", {"rating": "5"})
    assert response.status_code == 302 and Course.objects.dangerously_unscoped().get(pk=video.pk).rating_count == 0
    CourseEnrolment.objects.dangerously_unscoped().filter(teacher=province.teacher).update(
        state="completed", completed_at=START)
    client.post(f"/learning/courses/{video.pk}/rate/", {"rating": "4"})
    client.post(f"/learning/courses/{video.pk}/rate/", {"rating": "1"})  # once only
    course = Course.objects.dangerously_unscoped().get(pk=video.pk)
    assert (course.rating_sum, course.rating_count) == (4, 1)


def test_only_teachers_study_and_only_courses_open_to_them(providers, users, province, client_for, clock):
    county = _course(users, who="county_admin", code="K-1")  # open to 杞县 only
    draft_report = catalogue_import(scope=scope_for_user(users["province_admin"]), actor=users["province_admin"],
                                    division=province.province, source="t",
                                    rows=[(1, {"provider": "smartedu", "code": "D-1", "title": "草稿", "hours": "1",
                                               "media_url": "/static/learning/short-clip.webm",
                                               "duration_minutes": "1"})])
    draft = draft_report.rows[0].course_id
    outsider = client_for(users["sibling_teacher_user"])
    assert outsider.get(f"/learning/courses/{county.pk}/study/").status_code == 404
    assert outsider.post(f"/learning/courses/{county.pk}/study/start/").status_code == 404
    assert outsider.post(f"/api/v1/learning/courses/{county.pk}/enrol").status_code == 404
    teacher = client_for(users["teacher"])
    assert teacher.get(f"/learning/courses/{county.pk}/study/").status_code == 200
    assert teacher.post(f"/api/v1/learning/courses/{draft}/enrol").status_code == 404
    for who in ("county_admin", "province_admin", "school_admin"):
        admin = client_for(users[who])
        assert admin.get(f"/learning/courses/{county.pk}/study/").status_code == 403
        assert admin.post(f"/learning/courses/{county.pk}/study/start/").status_code == 403
        assert admin.post(f"/api/v1/learning/courses/{county.pk}/enrol").status_code == 403
    teacher = client_for(users["teacher"])
    live = _course(users, code="L-1", format="live", media_url="")
    assert teacher.post(f"/api/v1/learning/courses/{live.pk}/enrol").status_code == 422
    # the teacher's county administrator sees the enrolment; another county's does not
    teacher.post(f"/api/v1/learning/courses/{county.pk}/enrol")
    from access.policy import visible

    assert visible(scope_for_user(users["county_admin"]), CourseEnrolment).count() == 1
    assert visible(scope_for_user(users["sibling_admin"]), CourseEnrolment).count() == 0
    assert visible(scope_for_user(users["sibling_teacher_user"]), CourseEnrolment).count() == 0


def test_a_malformed_beat_is_a_clear_refusal(video, users, client_for, clock):
    client = client_for(users["teacher"])
    player = Player(client, video, clock)
    url = f"/learning/courses/{video.pk}/study/beat/"
    assert client.post(url, data="{not json", content_type="application/json").status_code == 400
    assert client.post(url, data="[1]", content_type="application/json").json()["code"] == "bad_input"
    clock.shift(dt.timedelta(seconds=15))
    body = {"token": player.token, "seq": "1", "position": "x", "ranges": [["a", 2]]}
    response = client.post(url, data=json.dumps(body), content_type="application/json")
    assert response.status_code == 409 and response.json()["code"] == "bad_input"
    assert client.get(url).status_code == 405


def test_the_player_endpoints_need_the_csrf_token(video, users, clock):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(users["teacher"])
    assert strict.post(f"/learning/courses/{video.pk}/study/start/").status_code == 403
    assert strict.post(f"/learning/courses/{video.pk}/study/beat/", data="{}",
                       content_type="application/json").status_code == 403
    assert not StudySession.objects.dangerously_unscoped().exists()


def test_the_players_statements_are_read_back_through_get_xapi_statements(video, users, province, client_for, clock):
    from access.scope import Scope
    from lrs.clients import client_create
    from lrs.tests.conftest import Xapi

    player = Player(client_for(users["teacher"]), video, clock)
    player.beat()
    lrs_client, secret = client_create(scope=Scope.division(province.province), actor=None, name="报表工具",
                                       division=province.province, activity_prefixes=["*"], may_write=False,
                                       reads_all=True)
    reader = Xapi(Client(), lrs_client.key, secret)
    registration = str(_enrolment(province.teacher).registration)
    response = reader.get("statements", {"registration": registration, "activity": video.activity_iri})
    assert response.status_code == 200
    found = response.json()["statements"]
    assert [s["verb"]["id"].rsplit("/", 1)[1] for s in found] == ["launched"]
    assert found[0]["authority"]["name"] == "本平台播放器"
    assert found[0]["actor"]["account"]["name"] == users["teacher"].username


def test_a_beat_with_nan_or_infinity_is_refused_and_nothing_is_stored(video, users, province, client_for, clock):
    player = Player(client_for(users["teacher"]), video, clock)

    def send(position, ranges, constant: str) -> int:
        clock.shift(dt.timedelta(seconds=15))
        player.seq += 1
        body = json.dumps({"token": player.token, "seq": player.seq, "position": position, "ranges": ranges,
                           "visible": True, "playing": True}).replace('"X"', constant)  # JSON's NaN, Infinity
        return player.client.post(f"/learning/courses/{video.pk}/study/beat/", data=body,
                                  content_type="application/json").status_code

    assert send("X", [[0, 15]], "NaN") == 409
    assert send("X", [[0, 15]], "Infinity") == 409
    assert send(15, [[0, "X"]], "NaN") == 409
    enrolment = _enrolment(province.teacher)
    assert enrolment.verified_seconds == 0 and enrolment.watched == [] and enrolment.position_seconds == 0


def test_a_course_retired_since_completion_is_not_rated_at_all(video, users, province, client_for, clock):
    from learning.services import course_retire
    from learning.study import course_rate

    client_for(users["teacher"]).post(f"/api/v1/learning/courses/{video.pk}/enrol")
    CourseEnrolment.objects.dangerously_unscoped().filter(teacher=province.teacher).update(
        state="completed", completed_at=START)
    course_retire(scope=scope_for_user(users["province_admin"]), actor=users["province_admin"], course_id=video.pk)
    with pytest.raises(ValidationError, match="已下架"):
        course_rate(scope=scope_for_user(users["teacher"]), course_id=video.pk, stars=5)
    assert _enrolment(province.teacher).rating is None  # not half: no rating kept without the course's totals
