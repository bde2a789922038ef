"""The accreditation workflow through its services: the happy paths, and every refusal (a
Chinese message or 403/404, nothing written)."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from access.errors import Forbidden, NotVisible
from access.policy import Action, can
from audit.models import AuditEvent
from institutions import services
from institutions.models import Accreditation, AccreditationEvent
from institutions.tests.conftest import PNG, SCORES, TERM, pdf, scope_of
from notifications.models import Notification

pytestmark = pytest.mark.django_db

FULL = {"levels": ["county"], "categories": ["backbone", "topic"], "modes": ["centralised", "online"]}


def apply(people, who="qx_staff", institution="qx", files=None, **scope):
    user = people[who]
    return services.accreditation_apply(scope=scope_of(user), actor=user, institution_id=people[institution].pk,
                                        files=[pdf()] if files is None else files, **{**FULL, **scope})


def submit(people, row, who="qx_staff"):
    return services.accreditation_submit(scope=scope_of(people[who]), actor=people[who], accreditation_id=row.pk)


def decide(people, row, who="county_admin", decision="approve", **extra):
    values = {"scores": SCORES, **TERM, **extra} if decision == "approve" else extra
    return services.accreditation_decide(scope=scope_of(people[who]), actor=people[who], accreditation_id=row.pk,
                                         decision=decision, **values)


def state(row):
    return Accreditation.objects.dangerously_unscoped().get(pk=row.pk).state


def counts():
    return (Accreditation.objects.dangerously_unscoped().count(),
            AccreditationEvent.objects.dangerously_unscoped().count(), AuditEvent.objects.dangerously_unscoped().count())


# --- the happy paths -------------------------------------------------------------------------

def test_apply_submit_approve_with_history_audit_and_notice(accr, province):
    row = apply(accr)
    assert row.state == "draft" and row.accrediting_division == province.county and row.evidence.count() == 1
    submit(accr, row)
    assert state(row) == "submitted"
    decide(accr, row)
    row.refresh_from_db()
    assert row.state == "approved" and row.valid_until == TERM["valid_until"]
    assert row.decided_by == accr["county_admin"]
    assert [e.action for e in row.events.all()] == ["apply", "submit", "approve"]
    assert set(AuditEvent.objects.dangerously_unscoped().filter(object_type="accreditation").values_list("action", flat=True)) == {
        "accreditation.apply", "accreditation.submit", "accreditation.approve"}
    notice = Notification.objects.dangerously_unscoped().get(recipient=accr["qx_staff"])
    assert "批准" in notice.title and notice.url.endswith(f"/institutions/accreditations/{row.pk}/")


def test_who_accredits(accr, province):
    assert apply(accr).accrediting_division == province.county
    assert apply(accr, levels=["city", "county"], who="kf_staff", institution="kf").accrediting_division == province.city
    assert apply(accr, levels=["county"], who="kf_staff", institution="kf").accrediting_division == province.city
    assert apply(accr, levels=["province"], who="hn_staff", institution="hn").accrediting_division == province.province
    # a 省直管县's institution goes to the province, as its plans do
    assert apply(accr, who="lk_staff", institution="lk").accrediting_division == province.province
    # a city administrator acting for a county's institution: the county decides, not the city
    acted = apply(accr, who="city_admin")
    assert acted.accrediting_division == province.county and acted.applicant_path == province.city.path
    submit(accr, acted, who="city_admin")
    assert not can(scope_of(accr["city_admin"]), Action.DECIDE, acted)
    decide(accr, acted)
    assert state(acted) == "approved"


def test_a_return_a_fix_and_a_resubmission(accr):
    row = apply(accr)
    submit(accr, row)
    decide(accr, row, decision="return", reason="请补充兼职专家名单")
    assert state(row) == "returned"
    services.evidence_add(scope=scope_of(accr["qx_staff"]), actor=accr["qx_staff"], accreditation_id=row.pk,
                          files=[pdf("专家名单.pdf")])
    submit(accr, row)
    decide(accr, row, who="county_admin_2")
    assert state(row) == "approved"


def test_renewal_suspension_reinstatement_revocation_and_expiry(accr):
    row = apply(accr)
    submit(accr, row)
    decide(accr, row)
    staff = accr["qx_staff"]
    services.accreditation_renew(scope=scope_of(staff), actor=staff, accreditation_id=row.pk, note="续期",
                                 files=[pdf("近三年绩效.pdf")])
    assert state(row) == "renewal_submitted"
    decide(accr, row, valid_from=None, valid_until=dt.date(2031, 11, 1))
    row.refresh_from_db()
    assert row.state == "approved" and row.valid_until == dt.date(2031, 11, 1)
    admin = accr["county_admin"]
    services.accreditation_suspend(scope=scope_of(admin), actor=admin, accreditation_id=row.pk, reason="学员投诉核查中")
    assert state(row) == "suspended"
    services.accreditation_reinstate(scope=scope_of(admin), actor=admin, accreditation_id=row.pk, reason="核查无问题")
    assert state(row) == "approved"
    assert services.accreditations_expire(today=dt.date(2031, 11, 2)) == 1
    assert state(row) == "expired"
    assert services.accreditations_expire(today=dt.date(2031, 11, 3)) == 0
    other = apply(accr)
    submit(accr, other)
    decide(accr, other)
    services.accreditation_revoke(scope=scope_of(admin), actor=admin, accreditation_id=other.pk, reason="弄虚作假")
    assert state(other) == "revoked"
    with pytest.raises(ValidationError, match="不能"):
        services.accreditation_reinstate(scope=scope_of(admin), actor=admin, accreditation_id=other.pk,
                                         reason="误操作恢复")


def test_a_refused_renewal_keeps_the_old_term(accr):
    row = apply(accr)
    submit(accr, row)
    decide(accr, row)
    staff = accr["qx_staff"]
    services.accreditation_renew(scope=scope_of(staff), actor=staff, accreditation_id=row.pk, files=[pdf()])
    decide(accr, row, decision="refuse", reason="绩效评估不合格")
    row.refresh_from_db()
    assert row.state == "approved" and row.valid_until == TERM["valid_until"]


# --- refusals: bad input, nothing written -----------------------------------------------------

@pytest.mark.parametrize(("upload", "message"), [
    (lambda: pdf("名单.exe", b"MZ\x90\x00"), "只接受"),
    (lambda: pdf("名单.pdf", b"not a pdf at all"), "不符"),
    (lambda: pdf("名单.png", PNG[:4] + b"xxxx"), "不符"),
])
def test_evidence_of_the_wrong_type_is_refused(accr, upload, message):
    before = counts()
    with pytest.raises(ValidationError, match=message):
        apply(accr, files=[upload()])
    assert counts() == before


def test_evidence_too_large_or_too_many_is_refused(accr, settings):
    settings.EVIDENCE_MAX_BYTES = 64
    before = counts()
    with pytest.raises(ValidationError, match="不能超过"):
        apply(accr, files=[pdf(body=b"%PDF" + b"0" * 100)])
    settings.EVIDENCE_MAX_BYTES = 10 * 1024 * 1024
    with pytest.raises(ValidationError, match="最多"):
        apply(accr, files=[pdf(f"{n}.pdf") for n in range(11)])
    assert counts() == before


def test_a_scope_above_the_institutions_division_is_refused(accr):
    before = counts()
    with pytest.raises(ValidationError, match="不能申请高于本机构所在区划层级"):
        apply(accr, levels=["city", "county"])
    with pytest.raises(ValidationError, match="不能申请高于"):
        apply(accr, levels=["province"], who="kf_staff", institution="kf")
    with pytest.raises(ValidationError, match="层级"):
        apply(accr, levels=[])
    with pytest.raises(ValidationError, match="范围"):
        apply(accr, categories=["school_based"])  # 校本研修 needs no accreditation
    assert counts() == before


def test_staff_apply_only_for_their_own_institution(accr):
    before = counts()
    with pytest.raises(NotVisible):
        apply(accr, who="qx_staff", institution="kf")
    with pytest.raises(NotVisible):  # a county sees only its own institutions
        apply(accr, who="sibling_admin", institution="qx")
    with pytest.raises(Forbidden):  # a city only reads its 省直管县
        apply(accr, who="city_admin", institution="lk")
    assert counts() == before


def test_the_accrediting_unit_does_not_apply_for_what_it_decides(accr):
    """Four eyes: an administrator of the accrediting division may not apply for an institution
    (a second administrator of the same unit would then approve what the first applied for)."""
    before = counts()
    with pytest.raises(ValidationError, match="四眼原则"):
        apply(accr, who="county_admin")
    with pytest.raises(ValidationError, match="四眼原则"):
        apply(accr, who="city_admin", institution="kf", levels=["city"])
    assert counts() == before


def test_nobody_of_the_applying_unit_and_never_the_applicant_decides(accr, province):
    """The policy's four eyes on rows however they were made: the applicant account, another
    administrator of the applying unit, an administrator elsewhere than the accrediting division."""
    # A row the services would refuse (the applying unit is the accrediting one), as a bypassing
    # writer would store it: the policy still lets nobody of that unit decide it.
    row = Accreditation(institution=accr["qx"], levels=["county"], categories=["backbone"], modes=["online"],
                        accrediting_division=province.county, applied_by=accr["county_admin"],
                        applicant_path=province.county.path, state="submitted",
                        submitted_by=accr["county_admin"])
    row.save()
    for who in ("county_admin", "county_admin_2"):
        assert not can(scope_of(accr[who]), Action.DECIDE, row), who
    row2 = apply(accr)
    submit(accr, row2)
    for who in ("qx_staff", "city_admin", "province_admin", "sibling_admin", "school_admin"):
        assert not can(scope_of(accr[who]), Action.DECIDE, row2), who
    with pytest.raises(Forbidden):
        decide(accr, row2, who="city_admin")
    with pytest.raises(Forbidden):
        decide(accr, row2, who="qx_staff")
    with pytest.raises(NotVisible):
        decide(accr, row2, who="sibling_admin")
    assert state(row2) == "submitted"


def test_the_city_reads_its_direct_countys_accreditations_but_does_not_decide(accr):
    row = apply(accr, who="lk_staff", institution="lk")
    submit(accr, row, who="lk_staff")
    assert can(scope_of(accr["city_admin"]), Action.VIEW, row)
    with pytest.raises(Forbidden):
        decide(accr, row, who="city_admin")
    with pytest.raises(Forbidden):
        decide(accr, row, who="direct_admin")
    decide(accr, row, who="province_admin")
    assert state(row) == "approved"


@pytest.mark.parametrize(("extra", "message"), [
    ({"valid_from": dt.date(2027, 1, 1), "valid_until": dt.date(2026, 12, 1)}, "开始日期不能晚于结束日期"),
    ({"valid_from": dt.date(2020, 1, 1), "valid_until": dt.date(2021, 1, 1)}, "不能早于今天"),
    ({"valid_from": dt.date(2026, 12, 1), "valid_until": dt.date(2035, 1, 1)}, "五年"),
    ({"valid_from": None, "valid_until": None}, "起止日期"),
    ({"scores": {"trainers": 25}}, "每一项"),
    ({"scores": {"trainers": 5, "sites": 5, "performance": 5, "management": 5}}, "合格线"),
    ({"scores": {**SCORES, "trainers": 31}}, "0到30"),
    ({"scores": {"nonsense": 1}}, "不属于"),
])
def test_a_bad_approval_is_refused_and_writes_nothing(accr, extra, message):
    row = apply(accr)
    submit(accr, row)
    before = counts()
    with pytest.raises(ValidationError, match=message):
        decide(accr, row, **extra)
    assert state(row) == "submitted" and counts() == before and not row.scores.exists()


@pytest.mark.parametrize("decision", ["return", "refuse"])
def test_returning_or_refusing_needs_a_reason(accr, decision):
    row = apply(accr)
    submit(accr, row)
    with pytest.raises(ValidationError, match="理由"):
        decide(accr, row, decision=decision, reason="")
    decide(accr, row, decision=decision, reason="场地证明不足")
    assert state(row) == {"return": "returned", "refuse": "refused"}[decision]


def test_wrong_state_moves_are_refused(accr):
    row = apply(accr, files=[])
    with pytest.raises(ValidationError, match="证明材料"):
        submit(accr, row)  # nothing to review yet
    with pytest.raises(ValidationError, match="不能作出该决定"):
        decide(accr, row)  # a draft is not decided
    staff = accr["qx_staff"]
    with pytest.raises(ValidationError, match="不能申请续期"):
        services.accreditation_renew(scope=scope_of(staff), actor=staff, accreditation_id=row.pk, files=[pdf()])
    services.evidence_add(scope=scope_of(staff), actor=staff, accreditation_id=row.pk, files=[pdf()])
    submit(accr, row)
    with pytest.raises(ValidationError, match="补充证明材料"):
        services.evidence_add(scope=scope_of(staff), actor=staff, accreditation_id=row.pk, files=[pdf()])
    with pytest.raises(ValidationError, match="不能作出该决定"):
        decide(accr, row, decision="nonsense")


def test_renewal_after_the_term_is_refused(accr):
    row = apply(accr)
    submit(accr, row)
    decide(accr, row)
    staff = accr["qx_staff"]
    import time_machine

    with time_machine.travel(dt.datetime(2029, 12, 2, 10, tzinfo=dt.UTC), tick=False):
        with pytest.raises(ValidationError, match="已过有效期"):
            services.accreditation_renew(scope=scope_of(staff), actor=staff, accreditation_id=row.pk,
                                         files=[pdf()])
    assert state(row) == "approved" and row.evidence.count() == 1
    with pytest.raises(ValidationError, match="新的证明材料"):
        services.accreditation_renew(scope=scope_of(staff), actor=staff, accreditation_id=row.pk, files=[])


def test_suspending_needs_a_reason_and_the_accrediting_division(accr):
    row = apply(accr)
    submit(accr, row)
    decide(accr, row)
    admin = accr["county_admin"]
    with pytest.raises(ValidationError, match="理由"):
        services.accreditation_suspend(scope=scope_of(admin), actor=admin, accreditation_id=row.pk, reason="")
    with pytest.raises(Forbidden):
        services.accreditation_suspend(scope=scope_of(accr["qx_staff"]), actor=accr["qx_staff"],
                                       accreditation_id=row.pk, reason="自行暂停一下")
    assert state(row) == "approved"


# --- the database holds the invariants too ----------------------------------------------------

def test_the_database_refuses_invalid_rows(accr, province):
    row = apply(accr)
    rows = Accreditation.objects.dangerously_unscoped().filter(pk=row.pk)
    for change in ({"state": "approved"},  # approved without a term
                   {"state": "approved", "valid_from": dt.date(2027, 1, 1), "valid_until": dt.date(2026, 1, 1),
                    "decided_by": accr["county_admin"]},
                   {"state": "returned", "decided_by": accr["qx_staff"]},  # decided by its applicant
                   {"state": "submitted", "valid_from": dt.date(2027, 1, 1), "valid_until": dt.date(2028, 1, 1)},
                   {"state": "nonsense"}):
        with pytest.raises(IntegrityError), transaction.atomic():
            rows.update(**change)
    assert state(row) == "draft"
