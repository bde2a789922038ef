"""Demo learning records go through the LRS's own storing and crediting."""

from lrs.models import CreditState, Statement, StatementCredit
from lrs.tests.conftest import Xapi
from people.tests.factories import TeacherFactory
from synth.learning import DEMO_KEY, learning_synthesize


def test_demo_records_credit_hold_and_keep_unmatched_and_the_demo_client_works(province, settings, client):
    settings.DEMO_PASSWORD = "demo-pass-2026"
    for n in range(8):
        TeacherFactory(school=province.school, name=f"教师{n}")
    result = learning_synthesize(seed=1, county_code="410221")
    states = list(StatementCredit.objects.dangerously_unscoped().values_list("state", flat=True))
    assert result.statements == Statement.objects.dangerously_unscoped().count() > 20
    assert result.credited == states.count(CreditState.CREDITED) > 0
    assert result.flagged >= 1 and result.unmatched == 1 and CreditState.QUEUED not in states
    assert Xapi(client, DEMO_KEY, "demo-pass-2026").get("statements", {"limit": 1}).status_code == 200
    assert learning_synthesize(seed=1, county_code="410221").statements == 0  # once only
