"""The demo expert guidance: teams for the county's stages and subjects, questions with answers in
every state, common problems found; made once."""

from collections import Counter

from access.scope import Scope
from guidance.models import GuidanceTeam, ProblemCluster, Question, QuestionMessage
from people.tests.factories import TeacherFactory
from synth.guidance import guidance_synthesize


def test_the_demo_guidance_has_teams_questions_and_common_problems(province):
    for n in range(24):
        TeacherFactory(school=province.school, subjects=["math" if n % 3 else "chinese"])
    result = guidance_synthesize(seed=5, county_code=province.county.code)
    teams = list(GuidanceTeam.objects.visible_to(Scope.division(province.county)))
    assert {(t.stage, t.subject) for t in teams} == {("primary", "math"), ("primary", "chinese")}
    assert all(t.members.filter(is_lead=True).count() == 1 for t in teams)
    questions = list(Question.objects.dangerously_unscoped().all())
    assert result["questions"] == len(questions) == 80
    assert set(Counter(q.state for q in questions)) == {"waiting", "answered", "resolved"}
    assert all(q.vector for q in questions)
    answered = [q for q in questions if q.first_answered_at]
    assert QuestionMessage.objects.dangerously_unscoped().filter(is_answer=True).count() == len(answered)
    assert ProblemCluster.objects.dangerously_unscoped().exists()
    assert guidance_synthesize(seed=5, county_code=province.county.code) == {"teams": 0, "questions": 0}
