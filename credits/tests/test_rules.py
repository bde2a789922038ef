"""Rules are data the province administrator revises; each revision is a new version."""

from decimal import Decimal

from audit.models import AuditEvent
from credits.models import CycleTotal, RuleSet
from credits.selectors import teacher_cycle_summary
from credits.services import ledger_entry_record

FORM = {"required_hours": "360", "hours_per_credit": "1", "note": "网络研修计入上限调整",
        "min_centralised": "", "max_centralised": "", "min_online": "", "max_online": "4",
        "min_school_based": "", "max_school_based": "", "min_guidance": "", "max_guidance": "",
        "min_other": "", "max_other": ""}


def test_province_admin_revises_rules_as_a_new_version(users, client_for, province):
    import datetime as dt

    ledger_entry_record(teacher=province.teacher, category="online", hours="6", occurred_on=dt.date(2026, 3, 2),
                        source_type="course", source_id="C-9", today=dt.date(2026, 11, 28))
    before = teacher_cycle_summary(teacher=province.teacher, today=dt.date(2026, 11, 28))
    assert before.rule_version == 1 and before.counted == Decimal("6.0")
    response = client_for(users["province_admin"]).post("/credits/rules/", FORM)
    assert response.status_code == 302
    versions = list(RuleSet.objects.filter(cycle__code="2026-2030").values_list("version", flat=True))
    assert sorted(versions) == [1, 2]
    after = teacher_cycle_summary(teacher=province.teacher, today=dt.date(2026, 11, 28))
    assert after.rule_version == 2 and after.counted == Decimal("4.0")  # capped by the new rule
    assert CycleTotal.objects.dangerously_unscoped().get(teacher=province.teacher, category="online").approved_hours == Decimal("6.0")  # facts unchanged
    assert RuleSet.objects.get(cycle__code="2026-2030", version=1).category_rules.get(category="online").max_hours is None
    assert AuditEvent.objects.dangerously_unscoped().filter(action="credits.rules").count() == 1


def test_other_admins_read_but_cannot_revise(users, client_for):
    city = client_for(users["city_admin"])
    assert city.get("/credits/rules/").status_code == 200
    assert city.post("/credits/rules/", FORM).status_code == 403
    assert client_for(users["teacher"]).get("/credits/rules/").status_code == 403
    assert RuleSet.objects.filter(version=2).count() == 0


def test_bad_rules_are_refused_with_a_message(users, client_for):
    client = client_for(users["province_admin"])
    response = client.post("/credits/rules/", {**FORM, "required_hours": "-5", "min_online": "10", "max_online": "4"}, follow=True)
    body = response.content.decode()
    assert "必须大于0" in body and "计入上限不能低于最低要求" in body
    assert RuleSet.objects.filter(version=2).count() == 0


def test_out_of_range_rules_are_refused_not_a_database_error(users, client_for):
    body = client_for(users["province_admin"]).post(
        "/credits/rules/", {**FORM, "required_hours": "123456789", "max_online": "1e9"}, follow=True
    ).content.decode()
    assert "不超过 9999" in body and "0 到 9999" in body
    assert RuleSet.objects.filter(version=2).count() == 0
