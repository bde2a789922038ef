"""The synthetic evaluation: finished projects have pre and post assessments whose effect is real
and varies with the project's quality, dimension scores that are their answers' means, teaching
outcomes of trained teachers and untrained peers, closed rating windows whose anonymous
responses are not stored in participation order (and some fall below the thresholds), experts'
visits and reviews and stakeholders' ratings whose totals are their rubric scores; the same seed
gives the same evaluation."""

import datetime as dt
import math
import random
import statistics
from collections import defaultdict
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import F
from django.utils import timezone

from catalog.models import Enrolment, Project
from evaluation.constants import RATING_MIN_RATE, RATING_MIN_RESPONSES
from evaluation.models import (
    AssessmentResponse,
    DimensionScore,
    EliminationCase,
    Instrument,
    InstrumentItem,
    OutcomeReview,
    ProjectInstrument,
    ProjectScore,
    RatingParticipation,
    RatingResponse,
    RatingWindow,
    Rubric,
    ScoreWeights,
    StakeholderRating,
    SupervisionVisit,
    Supervisor,
    TeachingOutcome,
)
from people.models import Teacher, TeacherHonour, TeacherSubject
from people.tests.factories import TeacherFactory
from synth.evaluation import ASSESSMENT_CODE, UNTARGETED, evaluation_synthesize, project_quality
from synth.services import _county_units, province_synthesize

EVALUATION_MODELS = (EliminationCase, ProjectScore, ScoreWeights, StakeholderRating, OutcomeReview, SupervisionVisit,
                     Supervisor, RatingResponse, RatingParticipation, RatingWindow, TeachingOutcome, DimensionScore,
                     AssessmentResponse, ProjectInstrument, Rubric, InstrumentItem, Instrument)


def evaluation_wipe() -> None:
    for model in EVALUATION_MODELS:
        manager = model.objects
        (manager.dangerously_unscoped() if hasattr(manager, "dangerously_unscoped") else manager).all().delete()


def _all(model):
    manager = model.objects
    return manager.dangerously_unscoped() if hasattr(manager, "dangerously_unscoped") else manager.all()


SEED = 5


@pytest.mark.django_db
def test_the_synthetic_evaluation(settings):
    """One synthesis (about a minute on SQLite) shared by every check, then the same seed again."""
    settings.DEMO_PASSWORD = ""
    synthesised = province_synthesize(scale="0.0005", seed=SEED)
    check_finished_projects_are_evaluated_in_sane_numbers(synthesised)
    check_every_dimension_score_is_the_mean_of_its_answers_with_reverse_items_turned()
    check_totals_are_their_rubric_scores_and_follow_quality(correlated=False)
    check_the_same_seed_gives_the_same_evaluation([unit["code"] for unit in _county_units()])


@pytest.mark.django_db
def test_effects_ratings_and_scores_follow_quality_in_projects_of_real_size(province):
    """At the test's tiny scale projects have a trainee or two; here twenty finished projects of
    15–40 trainees each, so the statistics have something to stand on."""
    _finished_projects(province)
    result = evaluation_synthesize(seed=SEED, today=timezone.localdate(), county_codes=["410221", "410222"])
    assert result.projects == 20 and result.responses > 900
    check_the_effect_is_real_and_grows_with_quality()
    check_every_dimension_score_is_the_mean_of_its_answers_with_reverse_items_turned()
    check_ratings_are_closed_anonymous_shuffled_and_some_suppressed()
    check_totals_are_their_rubric_scores_and_follow_quality(correlated=True)
    check_the_same_seed_gives_the_same_evaluation(["410221", "410222"])


def _finished_projects(p) -> None:
    rng = random.Random(1)
    today = timezone.localdate()
    teachers = []
    for n in range(320):
        school = (p.school, p.sibling_school)[n % 2]
        teachers.append(TeacherFactory.build(school=school, stage=("primary", "junior")[n % 3 == 0]))
    teachers = Teacher.objects.bulk_create(teachers)
    TeacherSubject.objects.bulk_create([TeacherSubject(teacher=t, subject=("chinese", "math")[n % 2], is_main=True)
                                        for n, t in enumerate(teachers)])
    TeacherHonour.objects.bulk_create([TeacherHonour(teacher=t, title="master_teacher", level="county",
                                                     awarded_on=dt.date(2020, 9, 1)) for t in teachers[:6]])
    enrolments = []
    for n in range(20):
        county = (p.county, p.sibling)[n % 2]
        starts = today - dt.timedelta(days=300 - 10 * n)
        project = Project.objects.create(
            code=f"PJ-{n:02d}", title=f"骨干教师研修{n}", level="county", category="backbone", mode="centralised",
            organiser=county, division_path=county.path, topics=["homework"], seats=60, hours=24,
            hour_category="centralised", starts_on=starts, ends_on=starts + dt.timedelta(days=5), state="finished")
        local = [t for t in teachers if t.division_path == county.path]
        for teacher in rng.sample(local, rng.randint(15, 40)):
            enrolments.append(Enrolment(project=project, teacher=teacher, state="completed"))
    Enrolment.objects.bulk_create(enrolments)


def _quality() -> dict[int, float]:
    return {pk: project_quality(SEED, code, int(organiser)) for pk, code, organiser in
            _all(Project).values_list("pk", "code", "organiser__code")}


def _targeted() -> set[int]:
    """Teachers who completed a targeted project (not one the whole county or school takes)."""
    return set(_all(Enrolment).filter(state="completed").exclude(project__category__in=UNTARGETED)
               .values_list("teacher_id", flat=True))


def _changes() -> dict[int, list[float]]:
    """Per project, each paired trainee's change (post − pre, mean over the dimensions)."""
    means: dict[tuple[int, int, str], list[float]] = defaultdict(list)
    for project, teacher, point, score in _all(DimensionScore).values_list("project_id", "teacher_id", "point", "score"):
        means[(project, teacher, point)].append(score)
    changes: dict[int, list[float]] = defaultdict(list)
    for (project, teacher, point), scores in means.items():
        if point == "pre" and (project, teacher, "post") in means:
            changes[project].append(statistics.fmean(means[(project, teacher, "post")]) - statistics.fmean(scores))
    return changes


def check_finished_projects_are_evaluated_in_sane_numbers(synthesised):
    today = timezone.localdate()
    assert synthesised.evaluated_projects > 20 and synthesised.assessment_responses > 200
    assert _all(Instrument).filter(code=ASSESSMENT_CODE, state="published", kind="assessment").get().items.count() == 10
    assert _all(InstrumentItem).filter(instrument__code=ASSESSMENT_CODE, reverse=True).count() == 3
    assert _all(Instrument).filter(kind="rating", state="published").get().items.count() == 6
    assert set(_all(Rubric).filter(state="published").values_list("kind", flat=True)) == {"visit", "outcome", "stakeholder"}
    weights = _all(ScoreWeights).get(year=today.year - 1)
    assert weights.supervision + weights.rating + weights.outcome + weights.stakeholder == Decimal(1)
    completed = defaultdict(set)
    for project, teacher in _all(Enrolment).filter(state="completed").values_list("project_id", "teacher_id"):
        completed[project].add(teacher)
    evaluated = set(_all(ProjectInstrument).values_list("project_id", flat=True))
    assert evaluated == set(completed) and len(evaluated) == synthesised.evaluated_projects
    assert not _all(Project).filter(pk__in=evaluated).exclude(state="finished", ends_on__lt=today).exists()
    answered = defaultdict(set)
    for project, point, teacher in _all(AssessmentResponse).values_list("attachment__project_id", "attachment__point",
                                                                         "teacher_id"):
        answered[(project, point)].add(teacher)
    for project, teachers in completed.items():
        assert answered[(project, "pre")] == teachers  # every trainee took the pre assessment
        assert answered[(project, "post")] <= teachers
    posts, pres = (sum(len(answered[(p, point)]) for p in completed) for point in ("post", "pre"))
    assert 0.85 * pres < posts < pres  # a few missed the post assessment
    # Outcomes: trained teachers and untrained peers of the same county, stage and subject, three years each.
    outcome_teachers = set(_all(TeachingOutcome).values_list("teacher_id", flat=True))
    untrained = outcome_teachers - _targeted()
    trained = outcome_teachers - untrained
    assert len(trained) >= 10 and len(untrained) >= 20  # most teachers of a tiny county are trained
    assert _all(TeachingOutcome).count() == 3 * len(outcome_teachers)
    main = dict(_all(TeacherSubject).filter(is_main=True).values_list("teacher_id", "subject"))
    cell = {pk: (path, stage, main.get(pk)) for pk, path, stage in
            _all(TeachingOutcome).values_list("teacher_id", "teacher__division_path", "teacher__stage")}
    trained_cells = {cell[t] for t in trained}
    assert {cell[t][:2] for t in untrained} <= {c[:2] for c in trained_cells}  # same county and stage
    assert any(cell[t] in trained_cells for t in untrained)  # the same subject where there are such peers
    # Supervision: every project has experts, visits by them, reviews; stakeholders from the trainees' units.
    assert _all(Supervisor).values("project_id").distinct().count() == len(evaluated)
    named = set(_all(Supervisor).values_list("project_id", "user_id"))
    for project, visitor, role in _all(SupervisionVisit).values_list("project_id", "visitor_id", "visitor__role"):
        assert (project, visitor) in named and role == "expert"
    for project, reviewer in _all(OutcomeReview).values_list("project_id", "reviewer_id"):
        assert (project, reviewer) in named
    visits = defaultdict(int)
    for project in _all(SupervisionVisit).values_list("project_id", flat=True):
        visits[project] += 1
    assert set(visits) == evaluated and set(visits.values()) <= {1, 2, 3}
    for unit_key, kind, role, school in _all(StakeholderRating).values_list("unit_key", "unit_kind", "rater__role",
                                                                             "rater__school_id"):
        assert (kind, role) in {("school", "school_admin"), ("county", "county_admin")}
        assert kind != "school" or unit_key == f"school:{school}"


def check_the_effect_is_real_and_grows_with_quality():
    quality, changes = _quality(), _changes()
    big = {p: c for p, c in changes.items() if len(c) >= 8}
    assert len(big) >= 8
    high = [c for p, cs in big.items() if quality[p] > 0.6 for c in cs]
    low = [c for p, cs in big.items() if quality[p] < 0.3 for c in cs]
    assert statistics.fmean(high) > statistics.fmean(low) + 0.2
    d_z = {p: statistics.fmean(c) / statistics.stdev(c) for p, c in big.items() if statistics.stdev(c) > 0}
    # Some small, some large: d_z runs about 3q, give or take 0.2 of sampling noise at these sizes.
    assert max(d_z.values()) > 1.5 and min(d_z.values()) < 0.7
    assert statistics.correlation([quality[p] for p in d_z], list(d_z.values())) > 0.5
    # Trained teachers' outcomes rise more than their untrained peers' (difference in differences).
    values = defaultdict(dict)
    for teacher, year, value in _all(TeachingOutcome).values_list("teacher_id", "year", "value"):
        values[teacher][year] = value
    trained = _targeted()
    first, last = min(min(v) for v in values.values()), max(max(v) for v in values.values())
    gain = {t: v[last] - v[first] for t, v in values.items()}
    assert statistics.fmean(g for t, g in gain.items() if t in trained) > \
        statistics.fmean(g for t, g in gain.items() if t not in trained) + 0.5


def check_every_dimension_score_is_the_mean_of_its_answers_with_reverse_items_turned():
    instrument = _all(Instrument).get(code=ASSESSMENT_CODE)
    items = {str(i.number): (i.dimension, i.reverse) for i in instrument.items.all()}
    scores = defaultdict(dict)
    for response, dimension, score in _all(DimensionScore).values_list("response_id", "dimension", "score"):
        scores[response][dimension] = score
    checked = 0
    for response in _all(AssessmentResponse).select_related("attachment"):
        assert set(response.answers) == set(items)
        turned = defaultdict(list)
        for number, answer in response.answers.items():
            assert 1 <= answer <= 5
            dimension, reverse = items[number]
            turned[dimension].append(6 - answer if reverse else answer)
        assert scores[response.pk] == {d: pytest.approx(statistics.fmean(a)) for d, a in turned.items()}
        day = timezone.localtime(response.submitted_at).date()
        assert response.attachment.opens_on <= day <= response.attachment.closes_on and day < timezone.localdate()
        checked += 1
    assert checked == _all(AssessmentResponse).count() > 0
    assert {p for p, in _all(DimensionScore).values_list("point").distinct()} == {"pre", "post"}
    assert not _all(DimensionScore).exclude(project_id=F("response__attachment__project_id")).exists()


def check_ratings_are_closed_anonymous_shuffled_and_some_suppressed():
    today = timezone.localdate()
    windows = list(_all(RatingWindow).select_related("project"))
    assert windows and all(w.closes_on < today and w.opens_on >= w.project.ends_on for w in windows)
    assert all(w.instrument.kind == "rating" and w.instrument.state == "published" for w in windows)
    counts = defaultdict(lambda: [0, 0])
    for window in _all(RatingParticipation).values_list("window_id", flat=True):
        counts[window][0] += 1
    for window in _all(RatingResponse).values_list("window_id", flat=True):
        counts[window][1] += 1
    shown = suppressed = 0
    for w in windows:
        given, answered = counts[w.pk]
        assert given == answered <= w.eligible  # one response per participation, none beyond the trainees
        if answered >= RATING_MIN_RESPONSES and Decimal(answered) >= RATING_MIN_RATE * w.eligible:
            shown += 1
        else:
            suppressed += 1
    assert shown and suppressed
    assert any(counts[w.pk][1] >= RATING_MIN_RESPONSES and Decimal(counts[w.pk][1]) < RATING_MIN_RATE * w.eligible
               for w in windows)  # enough responses, but below half the trainees
    assert {f.name for f in RatingResponse._meta.concrete_fields} == {"id", "window", "answers"}
    # Stored order: participations go window by window; responses are one shuffled batch.
    physical = "ctid" if connection.vendor == "postgresql" else "rowid"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT window_id FROM evaluation_ratingresponse ORDER BY {physical}")  # noqa: S608
        stored = [row[0] for row in cursor.fetchall()]
    participation_order = list(_all(RatingParticipation).order_by("id").values_list("window_id", flat=True))
    assert stored != participation_order and sorted(stored) == sorted(participation_order)
    runs = 1 + sum(1 for a, b in zip(stored, stored[1:], strict=False) if a != b)
    assert runs > 3 * len(windows)  # not grouped by window
    # Answers follow quality.
    quality = {w.pk: project_quality(SEED, w.project.code, int(w.project.organiser.code)) for w in windows}
    means = defaultdict(list)
    for window, answers in _all(RatingResponse).values_list("window_id", "answers"):
        means[window].append(statistics.fmean(answers.values()))
    rated = [w for w in means if len(means[w]) >= 5]
    assert statistics.correlation([quality[w] for w in rated], [statistics.fmean(means[w]) for w in rated]) > 0.5


def check_totals_are_their_rubric_scores_and_follow_quality(*, correlated: bool):
    quality = _quality()
    by_project = defaultdict(list)
    for model in (SupervisionVisit, OutcomeReview, StakeholderRating):
        rows = list(_all(model).select_related("rubric"))
        assert rows
        for row in rows:
            maxima = {c["code"]: c["max"] for c in row.rubric.criteria}
            assert set(row.scores) == set(maxima) and all(0 <= row.scores[c] <= maxima[c] for c in maxima)
            expected = (Decimal(sum(row.scores.values()) * 100) / Decimal(sum(maxima.values()))).quantize(Decimal("0.1"))
            assert row.total == expected and row.rubric.kind == {"SupervisionVisit": "visit", "OutcomeReview": "outcome",
                                                                 "StakeholderRating": "stakeholder"}[model.__name__]
            by_project[row.project_id].append(float(row.total))
        if model is SupervisionVisit:
            assert all(r.project.starts_on <= r.visited_on <= r.project.ends_on for r in rows)
    projects = sorted(by_project)
    assert not correlated or statistics.correlation([quality[p] for p in projects],
                                  [statistics.fmean(by_project[p]) for p in projects]) > 0.7
    assert not math.isclose(min(quality[p] for p in projects), max(quality[p] for p in projects))


def check_the_same_seed_gives_the_same_evaluation(codes: list[str]):
    def snapshot():
        return (
            sorted(_all(AssessmentResponse).values_list("attachment__project__code", "attachment__point",
                                                        "teacher__id_index", "answers", "submitted_at")),
            sorted(_all(DimensionScore).values_list("project__code", "teacher__id_index", "point", "dimension", "score")),
            sorted(_all(TeachingOutcome).values_list("teacher__id_index", "year", "value")),
            sorted(_all(RatingParticipation).values_list("window__project__code", "teacher__id_index")),
            sorted((code, sorted(a.items())) for code, a in _all(RatingResponse).values_list("window__project__code",
                                                                                               "answers")),
            sorted(_all(SupervisionVisit).values_list("project__code", "visitor__username", "visited_on", "total")),
            sorted(_all(StakeholderRating).values_list("project__code", "unit_key", "total")),
        )

    first = snapshot()
    assert first[0]
    today = timezone.localdate()
    evaluation_wipe()
    evaluation_synthesize(seed=SEED, today=today, county_codes=codes)
    assert snapshot() == first
    evaluation_wipe()
    evaluation_synthesize(seed=SEED + 1, today=today, county_codes=codes)
    assert snapshot()[0] != first[0]
