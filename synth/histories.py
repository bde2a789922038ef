"""Synthetic learning histories with the structure real ones have, so recommender figures on
the synthetic province mean something:

- teachers of a stage and subject share tastes: a course written for a teacher's stage and
  subject is far likelier to be taken than one for another stage or subject, and each
  stage × subject group has favourite topics of its own;
- tastes drift: a teacher's topic interests move on a few times over the period (a new focus
  replaces part of the old one), so recent history predicts better than old history;
- popularity is long-tailed (log-normal appeal per course), and courses are released over the
  period, drawing most enrolments while they are new.

Pure Python + numpy, deterministic by seed; returns (teacher id, course id, epoch seconds).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

# How much likelier a course is when it fits the teacher: both stage and subject / one of them.
FIT_BOTH, FIT_ONE, FIT_NONE = 1.0, 0.08, 0.005
GROUP_TOPIC_FOCUS = 0.5  # Dirichlet concentration of a group's topic tastes (lower = more focused)
DRIFTS_PER_PERIOD = 3.0  # expected changes of focus per teacher over the whole period
NOVELTY_DAYS = 60.0  # a course's pull halves every this many days after its release


@dataclass(frozen=True)
class TeacherProfile:
    id: str
    stage: str
    subject: str


@dataclass(frozen=True)
class CourseProfile:
    id: str
    stages: tuple[str, ...]
    subjects: tuple[str, ...]
    topics: tuple[str, ...]


def generate_histories(teachers: list[TeacherProfile], courses: list[CourseProfile], *, seed: int = 0,
                       start: dt.datetime | None = None, days: int = 365,
                       mean_events: float = 8.0) -> list[tuple[str, str, float]]:
    if not teachers or not courses:
        return []
    random = np.random.default_rng(seed)
    start = start or dt.datetime(2025, 9, 1, tzinfo=dt.UTC)
    origin, period = start.timestamp(), days * 86400.0
    topics = sorted({topic for course in courses for topic in course.topics}) or ["general"]
    topic_index = {topic: i for i, topic in enumerate(topics)}

    # Courses: appeal (long tail), release time (a third there from the start), topics.
    appeal = random.lognormal(0.0, 1.2, len(courses))
    released = np.where(random.random(len(courses)) < 1 / 3, origin, origin + random.random(len(courses)) * period)
    course_topics = np.zeros((len(courses), len(topics)))
    for c, course in enumerate(courses):
        for topic in course.topics or ("general",):
            if topic in topic_index:
                course_topics[c, topic_index[topic]] = 1.0 / max(len(course.topics), 1)

    groups = sorted({(t.stage, t.subject) for t in teachers})
    group_tastes = {group: random.dirichlet(np.full(len(topics), GROUP_TOPIC_FOCUS)) for group in groups}
    fit = {group: np.array([FIT_BOTH if (group[0] in c.stages and group[1] in c.subjects)
                            else FIT_ONE if (group[0] in c.stages or group[1] in c.subjects) else FIT_NONE
                            for c in courses]) for group in groups}

    events: list[tuple[str, str, float]] = []
    for teacher in teachers:
        group = (teacher.stage, teacher.subject)
        count = int(random.poisson(mean_events * random.lognormal(0.0, 0.5)))
        if count == 0:
            continue
        times = np.sort(origin + random.random(count) * period)
        interest = 0.5 * group_tastes[group] + 0.5 * random.dirichlet(np.full(len(topics), GROUP_TOPIC_FOCUS))
        drift_at = np.sort(origin + random.random(random.poisson(DRIFTS_PER_PERIOD)) * period)
        taken = np.zeros(len(courses), dtype=bool)
        drift_index = 0
        for moment in times:
            while drift_index < len(drift_at) and drift_at[drift_index] <= moment:
                # A new focus within the group's tastes replaces most of the old one.
                focus = random.dirichlet(np.full(len(topics), GROUP_TOPIC_FOCUS)) * group_tastes[group]
                interest = 0.3 * interest + 0.7 * focus / focus.sum()
                drift_index += 1
            age_days = (moment - released) / 86400.0
            novelty = np.where(age_days >= 0, np.exp2(-np.maximum(age_days, 0) / NOVELTY_DAYS) + 0.15, 0.0)
            weights = appeal * fit[group] * (course_topics @ interest + 1e-3) * novelty
            weights[taken] = 0.0
            total = weights.sum()
            if total <= 0:
                break
            chosen = int(random.choice(len(courses), p=weights / total))
            taken[chosen] = True
            events.append((teacher.id, courses[chosen].id, float(moment)))
    return events
