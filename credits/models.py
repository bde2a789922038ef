"""Cycles and versioned rules (data, not code), the append-only hours ledger,
and per-teacher cycle totals kept in the same transaction as each entry.

A ledger row's substance (teacher, cycle, category, hours, date, source key,
what it reverses, the state it was recorded with, who recorded it) never
changes: database triggers refuse such updates and deletes, and a keyed
checksum over those fields lets `yanxiu credits verify` find a row edited
behind the application's back. Every decision on an entry (school check,
county decision, revocation, correction) is its own append-only row whose
MAC chains onto the entry and the decision before it; the entry's `state`,
`decided_*` and `school_checked_*` columns are a cache of that chain for
queries, which verify recomputes. A per-teacher seal counts the teacher's
entries and decisions, so a deleted row is found too (credits.integrity).
"""

import datetime as dt

from django.db import models

from access.managers import ScopedManager
from credits.constants import Category, DecisionStage, DecisionState, EntryState, SourceType
from org.models import path_index


class Cycle(models.Model):
    code = models.CharField("周期", max_length=20, unique=True)
    starts_on = models.DateField("开始")
    ends_on = models.DateField("结束")
    # Closed by the province on a date of its choosing (not automatically at ends_on): the last
    # weeks' claims and completions are settled in a window after the cycle ends. From this date
    # on, nothing is recorded, decided or revoked in the cycle except by a province correction.
    closed_on = models.DateField("关闭日期", null=True, blank=True)

    class Meta:
        ordering = ["starts_on"]
        verbose_name = "继续教育周期"
        constraints = [models.CheckConstraint(condition=models.Q(ends_on__gt=models.F("starts_on")), name="credits_cycle_dates_in_order")]

    def __str__(self) -> str:
        return self.code

    def is_closed(self, today: dt.date) -> bool:
        return self.closed_on is not None and self.closed_on <= today


class RuleSet(models.Model):
    """One version of a cycle's rules. Editing makes a new version; results
    computed under an earlier version name the version they used."""

    cycle = models.ForeignKey(Cycle, on_delete=models.PROTECT, related_name="rule_sets")
    version = models.PositiveIntegerField()
    required_hours = models.DecimalField("周期要求学时", max_digits=6, decimal_places=1)
    hours_per_credit = models.DecimalField("每学分学时", max_digits=4, decimal_places=1, default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    note = models.CharField("修订说明", max_length=200, blank=True)

    class Meta:
        ordering = ["cycle", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["cycle", "version"], name="credits_ruleset_unique_version"),
            models.CheckConstraint(condition=models.Q(required_hours__gt=0, hours_per_credit__gt=0), name="credits_ruleset_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.cycle} v{self.version}"


class CategoryRule(models.Model):
    rule_set = models.ForeignKey(RuleSet, on_delete=models.CASCADE, related_name="category_rules")
    category = models.CharField(max_length=20, choices=Category.choices)
    min_hours = models.DecimalField("最低学时", max_digits=6, decimal_places=1, null=True, blank=True)
    max_hours = models.DecimalField("计入上限", max_digits=6, decimal_places=1, null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["rule_set", "category"], name="credits_categoryrule_unique"),
            models.CheckConstraint(
                condition=models.Q(min_hours__isnull=True) | models.Q(max_hours__isnull=True) | models.Q(max_hours__gte=models.F("min_hours")),
                name="credits_categoryrule_min_below_max",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rule_set} {self.get_category_display()}"


class LedgerEntry(models.Model):
    # Indexes are few on purpose (~60 M rows; each one costs every insert): (teacher,
    # occurred_on) serves a teacher's entries and the day cap, source_key the
    # idempotency check; the user columns are indexed only where set.
    teacher = models.ForeignKey("people.Teacher", on_delete=models.PROTECT, related_name="ledger_entries", db_index=False)
    cycle = models.ForeignKey(Cycle, on_delete=models.PROTECT, related_name="entries", db_index=False)
    category = models.CharField("类别", max_length=20, choices=Category.choices)
    hours = models.DecimalField("学时", max_digits=6, decimal_places=1)
    occurred_on = models.DateField("日期")
    source_type = models.CharField("来源", max_length=20, choices=SourceType.choices)
    source_id = models.CharField("来源编号", max_length=100)
    # "<source_type>:<source_id>" for system writers (the same completion recorded twice is one
    # entry); an API client's key names its account and an external record's key its teacher, so
    # nobody can take a key that another writer will need (credits.services.source_key_for).
    source_key = models.CharField(max_length=160)
    note = models.CharField("说明", max_length=500, blank=True)
    evidence = models.FileField("证明材料", upload_to="evidence/%Y/%m/", blank=True)
    reverses = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by",
                                 db_index=False)
    # The state the entry was written with (pending or approved), covered by the checksum.
    recorded_state = models.CharField("记入时状态", max_length=10, choices=EntryState.choices)
    # A cache of recorded_state and the decision chain, for queries (verify recomputes it).
    state = models.CharField("状态", max_length=10, choices=EntryState.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                   db_index=False)
    decided_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                   db_index=False)
    decided_at = models.DateTimeField(null=True, blank=True)
    # A teacher's own claim is checked by the school first, then decided by the county.
    school_checked_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                          db_index=False)
    school_checked_at = models.DateTimeField(null=True, blank=True)
    checksum = models.CharField(max_length=64)

    objects = ScopedManager()

    class Meta:
        ordering = ["-occurred_on", "-id"]
        verbose_name = "学时记录"
        indexes = [
            models.Index(fields=["teacher", "occurred_on"], name="credits_entry_teacher_day"),
            # What waits for a decision (review queues, the home pages' 待办 counts): a small,
            # partial index, so a province's count never scans the whole ledger.
            models.Index(fields=["teacher"], name="credits_entry_pending", condition=models.Q(state="pending")),
            *(models.Index(fields=[column], name=f"credits_entry_{short}", condition=models.Q(**{f"{column}__isnull": False}))
              for column, short in (("created_by", "creator"), ("decided_by", "decider"), ("school_checked_by", "checker"))),
        ]
        constraints = [
            # A plain unique index (unique=True would add a second, LIKE-able one on PostgreSQL).
            models.UniqueConstraint(fields=["source_key"], name="credits_entry_source_key_unique"),
            # A correction reverses one entry, and an entry is reversed at most once.
            models.UniqueConstraint(fields=["reverses"], condition=models.Q(reverses__isnull=False),
                                    name="credits_entry_reversed_once"),
            # Only a correction may be negative, and nothing is zero.
            models.CheckConstraint(
                condition=models.Q(hours__gt=0) | models.Q(hours__lt=0, source_type="correction"),
                name="credits_entry_hours_sign",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.teacher_id} {self.category} {self.hours}"


class LedgerDecision(models.Model):
    """One decision on an entry, append-only (triggers refuse UPDATE and DELETE): its MAC
    chains onto the entry's checksum and the previous decision's MAC (credits.integrity)."""

    entry = models.ForeignKey(LedgerEntry, on_delete=models.PROTECT, related_name="decisions", db_index=False)
    seq = models.PositiveSmallIntegerField()
    stage = models.CharField("环节", max_length=12, choices=DecisionStage.choices)
    state = models.CharField("结果", max_length=10, choices=DecisionState.choices)
    actor = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                              db_index=False)
    at = models.DateTimeField("时间")
    note = models.CharField("说明", max_length=500, blank=True)
    mac = models.CharField(max_length=64)

    objects = ScopedManager()

    class Meta:
        ordering = ["entry", "seq"]
        verbose_name = "学时审核记录"
        # The unique index serves the chain's lookups (an entry's decisions in order).
        constraints = [models.UniqueConstraint(fields=["entry", "seq"], name="credits_decision_entry_seq")]

    def __str__(self) -> str:
        return f"{self.entry_id}#{self.seq} {self.stage} {self.state}"


class LedgerSeal(models.Model):
    """How many entries and decisions a teacher's ledger holds, under a keyed MAC, updated in
    every ledger write's transaction under the teacher's row lock: a deleted row shows."""

    teacher = models.OneToOneField("people.Teacher", on_delete=models.PROTECT, primary_key=True, related_name="+")
    entries = models.PositiveIntegerField()
    decisions = models.PositiveIntegerField()
    mac = models.CharField(max_length=64)

    objects = ScopedManager()

    class Meta:
        verbose_name = "学时账本封签"

    def __str__(self) -> str:
        return f"{self.teacher_id}: {self.entries}/{self.decisions}"


class CycleTotal(models.Model):
    """Hours per teacher, cycle and category, updated with every entry."""

    teacher = models.ForeignKey("people.Teacher", on_delete=models.CASCADE, related_name="cycle_totals")
    cycle = models.ForeignKey(Cycle, on_delete=models.PROTECT, related_name="totals")
    category = models.CharField(max_length=20, choices=Category.choices)
    approved_hours = models.DecimalField(max_digits=8, decimal_places=1, default=0)
    pending_hours = models.DecimalField(max_digits=8, decimal_places=1, default=0)

    objects = ScopedManager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["teacher", "cycle", "category"], name="credits_total_unique")]
        indexes = [models.Index(fields=["cycle", "teacher"], name="credits_total_cycle_teacher")]

    def __str__(self) -> str:
        return f"{self.teacher_id} {self.cycle_id} {self.category}: {self.approved_hours}"


class ComplianceRefresh(models.Model):
    """When a cycle's compliance snapshot was last computed, for which day and rule version."""

    cycle = models.OneToOneField(Cycle, on_delete=models.CASCADE, related_name="compliance_refresh")
    as_of = models.DateField("统计日")
    rule_version = models.PositiveIntegerField()
    teachers = models.PositiveIntegerField(default=0)
    computed_at = models.DateTimeField()
    seconds = models.FloatField(default=0)

    def __str__(self) -> str:
        return f"{self.cycle} @ {self.computed_at:%Y-%m-%d %H:%M}"


class SchoolCompliance(models.Model):
    """Pre-aggregated compliance of one school's active teachers in a cycle: the grain
    every division roll-up sums (a province roll-up reads schools, not 1.2 M teachers)."""

    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="+")
    school = models.ForeignKey("org.School", on_delete=models.CASCADE, related_name="+")
    division_path = models.CharField(max_length=100)
    teachers = models.PositiveIntegerField()
    complete = models.PositiveIntegerField()  # requirement and every category minimum met
    on_track = models.PositiveIntegerField()  # counted hours keep pace with the time elapsed
    new_teachers = models.PositiveIntegerField()  # hired during the cycle (pro-rated requirement)
    required_hours = models.DecimalField(max_digits=14, decimal_places=1)
    counted_hours = models.DecimalField(max_digits=14, decimal_places=1)
    pending_hours = models.DecimalField(max_digits=14, decimal_places=1)
    owed_hours = models.DecimalField(max_digits=14, decimal_places=1)
    centralised_hours = models.DecimalField(max_digits=14, decimal_places=1)
    online_hours = models.DecimalField(max_digits=14, decimal_places=1)
    school_based_hours = models.DecimalField(max_digits=14, decimal_places=1)
    guidance_hours = models.DecimalField(max_digits=14, decimal_places=1)
    other_hours = models.DecimalField(max_digits=14, decimal_places=1)
    # Teachers by share of their requirement done: <20 %, <40 %, <60 %, <80 %, <100 %, done.
    band_0 = models.PositiveIntegerField()
    band_1 = models.PositiveIntegerField()
    band_2 = models.PositiveIntegerField()
    band_3 = models.PositiveIntegerField()
    band_4 = models.PositiveIntegerField()
    band_5 = models.PositiveIntegerField()

    objects = ScopedManager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["cycle", "school"], name="credits_schoolcompliance_unique")]
        indexes = [path_index("credits_compliance_path", "division_path", "cycle")]

    def __str__(self) -> str:
        return f"{self.cycle_id} {self.school_id}: {self.complete}/{self.teachers}"


class OrganiserAlias(models.Model):
    """An organiser's name as other platforms write it, mapped once to the canonical
    institution, so imported hours name the institution and nobody re-types them."""

    name = models.CharField("主办单位（规范化）", max_length=200, unique=True)
    institution = models.ForeignKey("org.Institution", on_delete=models.PROTECT, related_name="aliases")
    created_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "主办单位别名"

    def __str__(self) -> str:
        return f"{self.name} → {self.institution_id}"


class ExternalImport(models.Model):
    """One file of hours from another platform: what it added, what it skipped as
    already recorded, and each rejected row with its reason."""

    file_name = models.CharField("文件名", max_length=255)
    file_sha256 = models.CharField(max_length=64, db_index=True)
    actor = models.ForeignKey("accounts.User", null=True, on_delete=models.SET_NULL, related_name="+")
    scope_path = models.CharField(max_length=100, blank=True)
    rows = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    # [{"row": n, "column": "...", "reason": "...", "values": [...]}], at most REJECTIONS_KEPT
    rejections = models.JSONField(default=list)
    unmapped_organisers = models.JSONField(default=list)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager()

    class Meta:
        ordering = ["-started_at"]
        verbose_name = "外部学时导入"

    def __str__(self) -> str:
        return self.file_name
