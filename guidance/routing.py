"""Which team serves a teacher, and which of its members takes a question.

A school's teachers of one stage and subject are served by the team paired with the school for
that stage and subject (TeamSchool). A school not paired falls to the team of its own county
for that stage and subject, then to its city's, when that division has exactly one active such
team: a county with one junior-maths team needs no pairing of every school. The coverage
report and the routing of a question use this same rule.

These reads are the platform's, not the asker's (a teacher sees no team): they run unscoped,
for a teacher whose question the caller was already allowed to ask.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce

from access.rules import ancestor_paths
from guidance.constants import OPEN_STATES
from guidance.models import GuidanceTeam, Question, TeamMember, TeamSchool


@dataclass(frozen=True)
class Fallbacks:
    """The single active team of each (division path, stage, subject), where there is one."""

    single: dict[tuple[str, str, str], int]

    @classmethod
    def load(cls, paths: set[str], stages: set[str], subjects: set[str]) -> Fallbacks:
        counts: dict[tuple[str, str, str], list[int]] = defaultdict(list)
        rows = (GuidanceTeam.objects.dangerously_unscoped()
                .filter(is_active=True, division_path__in=paths, stage__in=stages, subject__in=subjects)
                .values_list("division_path", "stage", "subject", "id"))
        for path, stage, subject, team_id in rows:
            counts[(path, stage, subject)].append(team_id)
        return cls({key: ids[0] for key, ids in counts.items() if len(ids) == 1})

    def team_for(self, school_path: str, stage: str, subject: str) -> int | None:
        # Nearest division first (the county, then the city); the province has no teams.
        for path in reversed(ancestor_paths(school_path)[1:]):
            team_id = self.single.get((path, stage, subject))
            if team_id is not None:
                return team_id
        return None


def team_for(*, school_id: int, school_path: str, stage: str, subject: str) -> GuidanceTeam | None:
    paired = (TeamSchool.objects.dangerously_unscoped()
              .filter(school_id=school_id, stage=stage, subject=subject, team__is_active=True)
              .values_list("team_id", flat=True).first())
    if paired is None:
        fallbacks = Fallbacks.load(set(ancestor_paths(school_path)), {stage}, {subject})
        paired = fallbacks.team_for(school_path, stage, subject)
    if paired is None:
        return None
    return GuidanceTeam.objects.dangerously_unscoped().filter(pk=paired).first()


def least_loaded_member(team: GuidanceTeam) -> TeamMember | None:
    """The available member with the fewest open questions (then the longest-standing): one
    query, counting each member's open questions on a partial index of open ones (a member's
    history of thousands of answered questions is never read). The caller holds the team's row
    lock, so two questions arriving together do not both pick the same member."""
    open_questions = (Question.objects.dangerously_unscoped()
                      .filter(assignee=OuterRef("pk"), state__in=OPEN_STATES)
                      .order_by().values("assignee").annotate(n=Count("id")).values("n"))
    return (team.members.filter(is_available=True)
            .annotate(open_count=Coalesce(Subquery(open_questions, output_field=IntegerField()), 0))
            .order_by("open_count", "id").first())


def lock_team(team_id: int) -> GuidanceTeam:
    return GuidanceTeam.objects.dangerously_unscoped().select_for_update().get(pk=team_id)
