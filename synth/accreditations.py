"""Synthetic accreditations (准入) consistent with the synthetic projects: every institution that
implements a project holds an approved accreditation covering the levels, categories, modes and
dates of its projects (so the 准入 gate lets them through); the institutions without projects
show the rest of the workflow: accreditations expiring within weeks, suspended, refused, waiting
for review and drafts. A few draft projects are deliberately handed to an institution whose
application is still under review, so the plan check and the project page show a blocked one.

Rows are written in the state the workflow would leave them, with their scores and history;
synthetic rows carry no evidence files. Idempotent: nothing happens when accreditations exist."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from accounts.models import Role, User
from catalog.constants import Level, ProjectCategory, ProjectState
from catalog.models import Project
from institutions.constants import MAX_VALIDITY_DAYS, SCOPE_CATEGORIES, SCOPE_MODES
from institutions.constants import AccreditationState as S
from institutions.models import Accreditation, AccreditationEvent, AccreditationScore, CriteriaSet
from institutions.services import accrediting_division
from org.models import Institution

# What an institution without projects shows, in turn.
SHOWCASE = (S.APPROVED, S.SUBMITTED, S.SUSPENDED, S.REFUSED, S.APPROVED, S.DRAFT, S.EXPIRED, S.RETURNED)
REASONS: dict[str, str] = {
    S.SUSPENDED: "年度检查发现培训者资质材料与实际授课人员不符，限期整改，整改期间暂停准入资格。",
    S.REFUSED: "专职培训者不足，近三年无承担县级以上培训项目的经历，暂不具备准入条件。",
    S.RETURNED: "培训场地证明材料不完整，请补充场地租赁合同或产权证明后重新提交。",
    S.EXPIRED: "有效期届满，未申请续期。",
}
HISTORY: dict[str, list[str]] = {
    S.DRAFT: ["apply"], S.SUBMITTED: ["apply", "submit"], S.RETURNED: ["apply", "submit", "return"],
    S.REFUSED: ["apply", "submit", "refuse"], S.APPROVED: ["apply", "submit", "approve"],
    S.SUSPENDED: ["apply", "submit", "approve", "suspend"], S.EXPIRED: ["apply", "submit", "approve", "expire"],
}
FLOW: dict[str, tuple[str, str]] = {"apply": (S.DRAFT, S.DRAFT), "submit": (S.DRAFT, S.SUBMITTED), "return": (S.SUBMITTED, S.RETURNED),
        "refuse": (S.SUBMITTED, S.REFUSED), "approve": (S.SUBMITTED, S.APPROVED),
        "suspend": (S.APPROVED, S.SUSPENDED), "expire": (S.APPROVED, S.EXPIRED)}
BLOCKED_DRAFTS = 2


def accreditations_synthesize(*, seed: int, today: dt.date | None = None) -> dict[str, int]:
    if Accreditation.objects.dangerously_unscoped().exists():
        return {"accreditations": 0, "blocked": 0}
    today = today or timezone.localdate()
    rng = random.Random(f"{seed}:accreditations")
    maker = _Maker(today, rng)
    with transaction.atomic():
        covered = _cover_projects(maker)
        idle = [i for i in Institution.objects.dangerously_unscoped().order_by("code") if i.pk not in covered]
        pending = []
        for n, institution in enumerate(idle):
            state = SHOWCASE[n % len(SHOWCASE)]
            maker.showcase(institution, state)
            if state == S.SUBMITTED:
                pending.append(institution)
        blocked = _block_a_few_drafts(pending, rng)
        maker.save()
    return {"accreditations": len(maker.rows), "blocked": blocked}


def _cover_projects(maker: _Maker) -> set[int]:
    """One approved accreditation per implementing institution, covering all of its projects."""
    spans: dict[int, dict] = defaultdict(lambda: {"levels": set(), "categories": set(), "modes": set(),
                                                  "start": dt.date.max, "end": dt.date.min})
    rows = (Project.objects.dangerously_unscoped().filter(institution__isnull=False)
            .exclude(level=Level.SCHOOL).exclude(category=ProjectCategory.SCHOOL_BASED)
            .values_list("institution_id", "level", "category", "mode", "starts_on", "ends_on"))
    for institution_id, level, category, mode, starts_on, ends_on in rows:
        span = spans[institution_id]
        span["levels"].add(level)
        span["categories"].add(category)
        span["modes"].add(mode)
        span["start"], span["end"] = min(span["start"], starts_on), max(span["end"], ends_on)
    institutions = Institution.objects.dangerously_unscoped().in_bulk(list(spans))
    for institution_id, span in sorted(spans.items()):
        valid_from = span["start"] - dt.timedelta(days=maker.rng.randrange(30, 300))
        valid_until = max(span["end"], maker.today) + dt.timedelta(days=maker.rng.randrange(120, 400))
        valid_until = min(valid_until, valid_from + dt.timedelta(days=MAX_VALIDITY_DAYS))
        maker.add(institutions[institution_id], S.APPROVED, levels=sorted(span["levels"]),
                  categories=sorted(span["categories"]), modes=sorted(span["modes"]),
                  valid_from=valid_from, valid_until=max(valid_until, span["end"]))
    return set(spans)


def _block_a_few_drafts(pending: list[Institution], rng: random.Random) -> int:
    """Hand a few draft county projects to an institution still under review: blocked, with why."""
    if not pending:
        return 0
    drafts = list(Project.objects.dangerously_unscoped().filter(state=ProjectState.DRAFT, level=Level.COUNTY)
                  .exclude(category=ProjectCategory.SCHOOL_BASED).order_by("code")
                  .values_list("pk", flat=True)[:50])
    picked = sorted(rng.sample(drafts, min(BLOCKED_DRAFTS, len(drafts))))
    for n, pk in enumerate(picked):
        Project.objects.dangerously_unscoped().filter(pk=pk).update(institution=pending[n % len(pending)])
    return len(picked)


class _Maker:
    """Builds accreditation rows with their scores and history, and the accounts they name."""

    def __init__(self, today: dt.date, rng: random.Random):
        self.today, self.rng, self.now = today, rng, timezone.now()
        self.criteria = CriteriaSet.objects.filter(effective_from__lte=today).order_by("-version").first()
        self.items = list(self.criteria.items.all()) if self.criteria else []
        self.rows: list[tuple[Accreditation, list[str]]] = []
        self.accounts: dict[str, User] = {u.username: u for u in User.objects.filter(
            username__regex=r"^(admin|staff|synth)-")}
        self.password = make_password(settings.DEMO_PASSWORD) if settings.DEMO_PASSWORD else make_password(None)

    def account(self, username: str, role: str, **bindings) -> User:
        if username not in self.accounts:
            user = User(username=username, role=role, password=self.password, **bindings)
            user.save()
            self.accounts[username] = user
        return self.accounts[username]

    def showcase(self, institution: Institution, state: str) -> None:
        levels = [Level.COUNTY] if institution.division.level == "county" else [Level.CITY, Level.COUNTY]
        categories = sorted(self.rng.sample(SCOPE_CATEGORIES, 3))
        modes = sorted(self.rng.sample(SCOPE_MODES, 2))
        valid_from = valid_until = None
        if state in (S.APPROVED, S.SUSPENDED):
            # Approved showcases expire within weeks: the "expiring soon" list has something to show.
            valid_until = self.today + dt.timedelta(days=self.rng.randrange(20, 80))
            valid_from = valid_until - dt.timedelta(days=3 * 365)
        elif state == S.EXPIRED:
            valid_until = self.today - dt.timedelta(days=self.rng.randrange(10, 200))
            valid_from = valid_until - dt.timedelta(days=3 * 365)
        self.add(institution, state, levels=levels, categories=categories, modes=modes, valid_from=valid_from,
                 valid_until=valid_until)

    def add(self, institution: Institution, state: str, *, levels, categories, modes, valid_from, valid_until) -> None:
        decider = accrediting_division(institution, levels)
        applicant = self.account(f"staff-{institution.code.lower()}", Role.INSTITUTION_STAFF, institution=institution,
                                 first_name=f"{institution.name}培训部")
        role = {"province": Role.PROVINCE_ADMIN, "city": Role.CITY_ADMIN}.get(decider.level, Role.COUNTY_ADMIN)
        reviewer = self.account(f"admin-{decider.code}", role, division=decider, first_name=f"{decider.name}管理员")
        decided = state not in (S.DRAFT, S.SUBMITTED)
        row = Accreditation(
            institution=institution, division_path=institution.division_path, accrediting_division=decider,
            accrediting_path=decider.path, levels=list(levels), categories=list(categories), modes=list(modes),
            note=f"{institution.name}申请承担{'、'.join(Level(x).label for x in levels)}教师培训项目。", state=state,
            criteria=self.criteria if state != S.DRAFT else None, applied_by=applicant,
            submitted_by=applicant if state != S.DRAFT else None,
            submitted_at=self.now if state != S.DRAFT else None,
            decided_by=reviewer if decided else None, decided_at=self.now if decided else None,
            reason=REASONS.get(state, ""), valid_from=valid_from, valid_until=valid_until)
        self.rows.append((row, HISTORY[state]))

    def save(self) -> None:
        Accreditation.objects.bulk_create([row for row, _ in self.rows], batch_size=500)
        scores, events = [], []
        for row, history in self.rows:
            for action in history:
                before, after = FLOW[action]
                actor = row.applied_by if action in ("apply", "submit") else row.decided_by
                events.append(AccreditationEvent(
                    accreditation=row, action=action, from_state=before if action != "apply" else "", to_state=after,
                    actor=actor if action != "expire" else None,
                    reason=row.reason if action in ("return", "refuse", "suspend") else "",
                    detail={"synthetic": True}))
            if row.decided_by_id and row.state != S.REFUSED and row.state != S.RETURNED:
                scores += [AccreditationScore(accreditation=row, criterion=item, scored_by=row.decided_by,
                                              score=round(item.max_score * self.rng.uniform(0.72, 0.96)))
                           for item in self.items]
        AccreditationEvent.objects.bulk_create(events, batch_size=1000)
        AccreditationScore.objects.bulk_create(scores, batch_size=1000)
