"""The learning-record store (xAPI 1.0.3 at /xapi/).

- `LrsClient`: a course provider's credentials (HTTP Basic), owned by a division, scoped to
  activity IRI prefixes, read-only or read-write, rate-limited, revocable; the secret is
  stored only as a keyed digest.
- `Statement`: one stored statement, the full JSON as received and completed by the LRS
  (id, stored, authority, version, timestamp), with the columns queries order and page by.
  `seq` orders statements as they were stored: "stored" order, and the `more` cursor.
- `StatementIndex`: one row per value a filter can match (verb, activity, agent, registration,
  their "related" forms), including values inherited from a statement it targets through a
  StatementRef — so every filter is one indexed lookup, whatever the statement's shape. The
  value is kept as a 64-bit digest (lrs.keys.value_hash): IRIs may be long, the index stays
  small and fixed-width.
- `StatementAttachment`: attachment content by SHA-2, shared by the statements that carry it.
- `LrsDocument`: the State, Activity Profile and Agent Profile resources' documents.
- `LrsActivity`: the LRS's canonical definition of each activity (the Activities resource).
"""

from django.db import models

from access.managers import ScopedManager
from org.models import path_index


class LrsClient(models.Model):
    name = models.CharField("名称", max_length=100)
    key = models.CharField("账号", max_length=40, unique=True)
    secret_digest = models.CharField(max_length=64, editable=False)
    division = models.ForeignKey("org.Division", on_delete=models.PROTECT, related_name="+", verbose_name="所属区划")
    division_path = models.CharField(max_length=100, editable=False)
    # IRI prefixes of the activities the client writes (and reads documents) about; ["*"]: any.
    activity_prefixes = models.JSONField("活动 IRI 前缀", default=list)
    may_write = models.BooleanField("可写入", default=True)
    # Reads every statement (a reporting tool); otherwise only the statements it wrote.
    reads_all = models.BooleanField("可读取全部记录", default=False)
    rate_per_minute = models.PositiveIntegerField("每分钟请求上限", default=600)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager()

    class Meta:
        ordering = ["name"]
        verbose_name = "学习记录接入方"
        indexes = [path_index("lrs_client_path", "division_path")]

    def __str__(self) -> str:
        return f"{self.name} ({self.key})"


class Statement(models.Model):
    seq = models.BigAutoField(primary_key=True)
    statement_id = models.UUIDField(unique=True)
    stored = models.DateTimeField()
    timestamp = models.DateTimeField()
    client = models.ForeignKey(LrsClient, on_delete=models.PROTECT, related_name="statements", db_index=False)
    verb_id = models.TextField()
    # A voiding statement targets this one: it leaves ordinary queries (voidedStatementId finds it).
    voided = models.BooleanField(default=False)
    # The statement voids another (verb http://adlnet.gov/expapi/verbs/voided).
    is_voiding = models.BooleanField(default=False)
    # The teacher the actor was matched to, when it was (the learning-records page, crediting).
    teacher = models.ForeignKey("people.Teacher", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="learning_statements", db_index=False)
    # The statement as stored (exact format): what was received plus id, stored, authority, version.
    full = models.JSONField()
    has_attachments = models.BooleanField(default=False)

    objects = ScopedManager()

    class Meta:
        verbose_name = "学习记录语句"
        indexes = [
            models.Index(fields=["client", "seq"], name="lrs_statement_client_seq"),
            models.Index(fields=["teacher", "seq"], name="lrs_statement_teacher_seq",
                         condition=models.Q(teacher__isnull=False)),
        ]

    def __str__(self) -> str:
        return str(self.statement_id)


class IndexKind(models.IntegerChoices):
    VERB = 1
    ACTIVITY = 2  # the object activity
    RELATED_ACTIVITY = 3  # object, context activities, and those of a SubStatement
    AGENT = 4  # actor or object, members of those groups
    RELATED_AGENT = 5  # also authority, instructor, team, and those of a SubStatement
    REGISTRATION = 6


class StatementIndex(models.Model):
    statement = models.ForeignKey(Statement, on_delete=models.CASCADE, related_name="+", db_index=False)
    kind = models.PositiveSmallIntegerField(choices=IndexKind.choices)
    value_hash = models.BigIntegerField()

    objects = ScopedManager()

    class Meta:
        # (kind, value, statement): a filter walks its statements newest first and stops at the limit.
        indexes = [models.Index(fields=["kind", "value_hash", "statement"], name="lrs_index_lookup")]

    def __str__(self) -> str:
        return f"{self.statement_id} {self.kind} {self.value_hash}"


class StatementAttachment(models.Model):
    sha2 = models.CharField(max_length=128, unique=True)
    content_type = models.CharField(max_length=255)
    content = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager()

    class Meta:
        verbose_name = "语句附件"

    def __str__(self) -> str:
        return self.sha2


class DocumentKind(models.TextChoices):
    STATE = "state", "State"
    ACTIVITY_PROFILE = "activity_profile", "Activity Profile"
    AGENT_PROFILE = "agent_profile", "Agent Profile"


class LrsDocument(models.Model):
    kind = models.CharField(max_length=20, choices=DocumentKind.choices)
    activity_id = models.TextField(blank=True)  # "" for agent profiles
    agent_key = models.TextField(blank=True)  # "" for activity profiles
    registration = models.CharField(max_length=36, blank=True)  # state only; "" when none
    document_id = models.TextField()
    # A digest of (kind, activity, agent, registration, document id): the one key of a document,
    # and of (kind, activity, agent, registration) for listing a scope's documents.
    key_hash = models.CharField(max_length=64, unique=True)
    scope_hash = models.CharField(max_length=64)
    content = models.BinaryField()
    content_type = models.CharField(max_length=255)
    etag = models.CharField(max_length=64)
    updated = models.DateTimeField()
    client = models.ForeignKey(LrsClient, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    objects = ScopedManager()

    class Meta:
        verbose_name = "学习记录文档"
        indexes = [models.Index(fields=["scope_hash", "updated"], name="lrs_document_list")]

    def __str__(self) -> str:
        return f"{self.kind}:{self.document_id}"


class LrsActivity(models.Model):
    """The canonical definition of an activity, as the LRS keeps it (latest definition wins,
    merged), shown by the Activities resource and in canonical-format statements."""

    activity_id = models.TextField()
    activity_hash = models.BigIntegerField(unique=True)  # lrs.keys.value_hash(activity_id)
    definition = models.JSONField(default=dict)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "学习活动"

    def __str__(self) -> str:
        return self.activity_id
