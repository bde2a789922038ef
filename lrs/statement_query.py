"""Reading statements: one by id, or a filtered list newest first, paged by a `more` link
that stays put while new statements arrive; in the exact, ids or canonical format.

Every filter is one lookup in the statement index (lrs.models.StatementIndex), which also
holds what a statement inherits from the statement it targets by StatementRef. Pages are
cut by `seq` (the order statements were stored in): a `more` link carries the last `seq`
sent and, for an ascending list, the last `seq` that existed when the list was first asked
for, so a statement stored meanwhile neither shifts a page nor slips into one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import signing
from django.db.models import OuterRef, QuerySet, Subquery

from access.policy import visible
from access.scope import Scope
from lrs.http import XapiError
from lrs.indexing import pending_drain
from lrs.keys import agent_key, value_hash
from lrs.models import IndexKind, LrsActivity, Statement, StatementIndex
from lrs.validation import StatementInvalid, parse_timestamp, validate_agent, validate_uuid

LIST_PARAMS = {"agent", "verb", "activity", "registration", "related_activities", "related_agents", "since", "until",
               "limit", "format", "attachments", "ascending"}
SINGLE_PARAMS = {"statementId", "voidedStatementId", "format", "attachments"}
FORMATS = {"exact", "ids", "canonical"}
MORE_SALT = "lrs.statements.more"


@dataclass
class StatementPage:
    statements: list[dict]
    more: str
    rows: list[Statement]


def _boolean(params: dict[str, str], name: str) -> bool:
    value = params.get(name, "false")
    if value not in ("true", "false"):
        raise XapiError(400, f"参数 {name} 应为 true 或 false")
    return value == "true"


def query_options(params: dict[str, str]) -> tuple[str, bool]:
    fmt = params.get("format", "exact")
    if fmt not in FORMATS:
        raise XapiError(400, f"format 应为 ids、exact 或 canonical，而不是 {fmt}")
    return fmt, _boolean(params, "attachments")


def statement_single(scope: Scope, params: dict[str, str]) -> Statement:
    """GET with statementId or voidedStatementId (with nothing else but format, attachments)."""
    unknown = set(params) - SINGLE_PARAMS
    if unknown:
        raise XapiError(400, f"按 id 查询时不能带其他参数：{'、'.join(sorted(unknown))}")
    if "statementId" in params and "voidedStatementId" in params:
        raise XapiError(400, "statementId 与 voidedStatementId 不能同时使用")
    voided = "voidedStatementId" in params
    raw = params["voidedStatementId" if voided else "statementId"]
    try:
        statement_id = validate_uuid(raw)
    except StatementInvalid as error:
        raise XapiError(400, str(error)) from None
    pending_drain(wait=True)  # a voiding statement may have arrived before this one
    row = visible(scope, Statement).filter(statement_id=statement_id, voided=voided).first()
    if row is None:
        raise XapiError(404, "没有该语句" if not voided else "没有该已作废的语句")
    return row


def _index_filter(rows: QuerySet, kind: int, value: str) -> QuerySet:
    matching = StatementIndex.objects.dangerously_unscoped().filter(kind=kind, value_hash=value_hash(value))
    return rows.filter(seq__in=matching.values("statement_id"))


def statement_list(scope: Scope, params: dict[str, str], *, accept_language: str = "") -> StatementPage:
    if "more" in params:
        return _more(scope, params, accept_language=accept_language)
    unknown = set(params) - LIST_PARAMS
    if unknown:
        raise XapiError(400, f"未知参数：{'、'.join(sorted(unknown))}")
    query_options(params)
    for name in ("related_activities", "related_agents", "ascending"):
        _boolean(params, name)
    if "agent" in params:
        try:
            agent = json.loads(params["agent"])
            validate_agent(agent, identified=True)
        except (ValueError, StatementInvalid) as error:
            raise XapiError(400, f"agent 参数无效：{error}") from None
    for name in ("since", "until"):
        if name in params:
            try:
                parse_timestamp(params[name])
            except StatementInvalid as error:
                raise XapiError(400, f"{name} 参数无效：{error}") from None
    if "registration" in params:
        try:
            validate_uuid(params["registration"])
        except StatementInvalid as error:
            raise XapiError(400, f"registration 参数无效：{error}") from None
    limit = params.get("limit", "0")
    if not limit.isdigit():
        raise XapiError(400, "limit 应为非负整数")
    bound = visible(scope, Statement).order_by("-seq").values_list("seq", flat=True).first() or 0
    # After the bound: every batch committed before it is then found by its index rows.
    pending_drain(wait=True)
    return _page(scope, params, after=None, bound=bound, accept_language=accept_language)


def _filtered(scope: Scope, params: dict[str, str]) -> QuerySet:
    rows = visible(scope, Statement).filter(voided=False)
    if "agent" in params:
        key = agent_key(json.loads(params["agent"]))
        related = params.get("related_agents") == "true"
        rows = _index_filter(rows, IndexKind.RELATED_AGENT if related else IndexKind.AGENT, key or "")
    if "verb" in params:
        rows = _index_filter(rows, IndexKind.VERB, params["verb"])
    if "activity" in params:
        related = params.get("related_activities") == "true"
        rows = _index_filter(rows, IndexKind.RELATED_ACTIVITY if related else IndexKind.ACTIVITY, params["activity"])
    if "registration" in params:
        rows = _index_filter(rows, IndexKind.REGISTRATION, params["registration"].lower())
    if "since" in params:
        rows = rows.filter(stored__gt=parse_timestamp(params["since"]))
    if "until" in params:
        rows = rows.filter(stored__lte=parse_timestamp(params["until"]))
    return rows


def _index_lookups(params: dict[str, str]) -> list[tuple[int, int]]:
    """The (kind, value hash) pairs a query filters by, the likely most selective first."""
    lookups: list[tuple[int, int]] = []
    if "registration" in params:
        lookups.append((IndexKind.REGISTRATION, value_hash(params["registration"].lower())))
    if "agent" in params:
        key = agent_key(json.loads(params["agent"])) or ""
        kind = IndexKind.RELATED_AGENT if params.get("related_agents") == "true" else IndexKind.AGENT
        lookups.append((kind, value_hash(key)))
    if "activity" in params:
        kind = IndexKind.RELATED_ACTIVITY if params.get("related_activities") == "true" else IndexKind.ACTIVITY
        lookups.append((kind, value_hash(params["activity"])))
    if "verb" in params:
        lookups.append((IndexKind.VERB, value_hash(params["verb"])))
    return lookups


def _indexed_rows(scope: Scope, params: dict[str, str], lookups: list[tuple[int, int]], *, after: int | None,
                  bound: int, ascending: bool, size: int) -> list[Statement]:
    """A filtered page driven by the statement index: its first lookup is walked in statement
    order (the index is (kind, value_hash, statement)) and stops after the page, so the cost
    does not grow with how many statements match; the other lookups are index probes."""
    kind, digest = lookups[0]
    # The index alone drives the walk; the client's scope is applied to each statement below.
    driver = StatementIndex.objects.dangerously_unscoped().filter(kind=kind, value_hash=digest,
                                                                  statement_id__lte=bound)
    for position, (other_kind, other_digest) in enumerate(lookups[1:]):
        # Probed row by row as well (an EXISTS would be planned as a semi-join, at 10 M a hash
        # of every statement with that verb).
        probe = StatementIndex.objects.dangerously_unscoped().filter(
            statement_id=OuterRef("statement_id"), kind=other_kind, value_hash=other_digest).values("kind")[:1]
        driver = driver.annotate(**{f"also_{position}": Subquery(probe)}).filter(**{f"also_{position}__isnull": False})
    if "since" in params:
        driver = driver.filter(stored__gt=parse_timestamp(params["since"]))
    if "until" in params:
        driver = driver.filter(stored__lte=parse_timestamp(params["until"]))
    if after is not None:
        driver = driver.filter(statement_id__gt=after) if ascending else driver.filter(statement_id__lt=after)
    # Each index row's statement is looked up as the walk reaches it, by (seq, stored) — one
    # partition — and must be readable by the client and not voided. Scalar subqueries, not a
    # join: PostgreSQL never turns them into a hash join over every match, which it chose at
    # 10 M stored (it takes seq and stored for independent and expects one row from the join).
    statement = visible(scope, Statement).filter(seq=OuterRef("statement_id"), stored=OuterRef("stored"))
    found = (driver.annotate(voided=Subquery(statement.values("voided")[:1])).filter(voided=False)
             .annotate(full=Subquery(statement.values("full")[:1]))
             .order_by("statement_id" if ascending else "-statement_id")
             .values_list("statement_id", "full")[: size + 1])
    from lrs.statements import statement_has_attachments

    return [Statement(seq=seq, full=full, has_attachments=statement_has_attachments(full)) for seq, full in found]


def _page(scope: Scope, params: dict[str, str], *, after: int | None, bound: int,
          accept_language: str = "") -> StatementPage:
    ascending = params.get("ascending") == "true"
    limit = int(params.get("limit") or 0)
    size = min(limit, settings.LRS_PAGE_MAX) if limit else settings.LRS_PAGE_MAX
    lookups = _index_lookups(params)
    if lookups:
        rows = _indexed_rows(scope, params, lookups, after=after, bound=bound, ascending=ascending, size=size)
    else:
        rows_query = _filtered(scope, params).filter(seq__lte=bound)
        if after is not None:
            rows_query = rows_query.filter(seq__gt=after) if ascending else rows_query.filter(seq__lt=after)
        rows = list(rows_query.order_by("seq" if ascending else "-seq").only("seq", "full", "has_attachments")[: size + 1])
    more = ""
    if len(rows) > size:  # there are more: a link to the next page, from where this one stops
        rows = rows[:size]
        token = signing.dumps({"p": params, "a": rows[-1].seq, "b": bound}, salt=MORE_SALT, compress=True)
        more = f"{settings.LRS_PATH}/statements?more={token}"
    fmt = params.get("format", "exact")
    return StatementPage(statements=formatted([row.full for row in rows], fmt, accept_language=accept_language),
                         more=more, rows=rows)


def _more(scope: Scope, params: dict[str, str], *, accept_language: str) -> StatementPage:
    if set(params) != {"more"}:
        raise XapiError(400, "more 链接不能再带其他参数")
    try:
        state = signing.loads(params["more"], salt=MORE_SALT, max_age=settings.LRS_MORE_MAX_AGE)
    except signing.BadSignature:
        raise XapiError(400, "more 链接无效或已过期") from None
    return _page(scope, state["p"], after=state["a"], bound=state["b"], accept_language=accept_language)


# --- formats ---------------------------------------------------------------------------------

def _agent_ids(agent: Any) -> Any:
    if not isinstance(agent, dict):
        return agent
    reduced: dict[str, Any] = {}
    if "objectType" in agent:
        reduced["objectType"] = agent["objectType"]
    for name in ("mbox", "mbox_sha1sum", "openid", "account"):
        if name in agent:
            reduced[name] = agent[name]
            break
    if agent.get("objectType") == "Group" and agent_key(agent) is None:
        reduced["member"] = [_agent_ids(member) for member in agent.get("member") or []]
    return reduced


def _object_ids(target: Any) -> Any:
    if not isinstance(target, dict):
        return target
    kind = target.get("objectType", "Activity")
    if kind in ("Agent", "Group"):
        return _agent_ids(target)
    if kind == "SubStatement":
        return _statement_ids(target)
    # An activity is its id alone; other objects keep the type that says what the id is.
    return {"objectType": kind, "id": target.get("id")} if kind != "Activity" else {"id": target.get("id")}


def _context_ids(context: Any) -> Any:
    if not isinstance(context, dict):
        return context
    context = dict(context)
    for name in ("instructor", "team"):
        if name in context:
            context[name] = _agent_ids(context[name])
    # xAPI 2.0: the agent or group of each contextAgents / contextGroups entry, reduced alike.
    for name, member in (("contextAgents", "agent"), ("contextGroups", "group")):
        if isinstance(context.get(name), list):
            context[name] = [{**entry, member: _agent_ids(entry.get(member))} if isinstance(entry, dict) else entry
                             for entry in context[name]]
    if isinstance(context.get("contextActivities"), dict):
        context["contextActivities"] = {
            name: [{"id": a.get("id")} if isinstance(a, dict) else a
                   for a in (values if isinstance(values, list) else [values])]
            for name, values in context["contextActivities"].items()}
    return context


def _statement_ids(statement: dict) -> dict:
    reduced = dict(statement)
    reduced["actor"] = _agent_ids(statement.get("actor"))
    reduced["verb"] = {"id": statement["verb"]["id"]}
    reduced["object"] = _object_ids(statement.get("object"))
    if "authority" in statement:
        reduced["authority"] = _agent_ids(statement["authority"])
    if "context" in statement:
        reduced["context"] = _context_ids(statement["context"])
    return reduced


def _best_language(values: Any, accepted: list[str]) -> Any:
    """One entry of a language map: the best match of Accept-Language, else the first."""
    if not isinstance(values, dict) or len(values) <= 1:
        return values
    lowered = {tag.lower(): tag for tag in values}
    for wanted in accepted:
        if wanted == "*":
            break
        if wanted in lowered:
            return {lowered[wanted]: values[lowered[wanted]]}
        for tag in lowered:
            if tag.split("-")[0] == wanted.split("-")[0]:
                return {lowered[tag]: values[lowered[tag]]}
    first = next(iter(values))
    return {first: values[first]}


def accept_languages(header: str) -> list[str]:
    """The languages of an Accept-Language header, most wanted first (q weights honoured)."""
    weighted = []
    for position, part in enumerate((header or "").split(",")):
        tag, _, rest = part.strip().partition(";")
        if not tag:
            continue
        weight = 1.0
        if rest.strip().startswith("q="):
            try:
                weight = float(rest.strip()[2:])
            except ValueError:
                weight = 0.0
        weighted.append((-weight, position, tag.lower()))
    return [tag for _, _, tag in sorted(weighted)]


def _activities_of(statement: dict) -> list[dict]:
    """The activity objects of a statement: its object, its context activities, and those of
    a SubStatement object."""
    found = []
    for part in (statement, statement.get("object") if _is_sub(statement.get("object")) else None):
        if not isinstance(part, dict):
            continue
        target = part.get("object")
        if isinstance(target, dict) and target.get("objectType", "Activity") == "Activity":
            found.append(target)
        context = part.get("context")
        if isinstance(context, dict) and isinstance(context.get("contextActivities"), dict):
            for values in context["contextActivities"].values():
                found += [a for a in (values if isinstance(values, list) else [values]) if isinstance(a, dict)]
    return found


def _is_sub(target: Any) -> bool:
    return isinstance(target, dict) and target.get("objectType") == "SubStatement"


def _canonical(statements: list[dict], accepted: list[str]) -> list[dict]:
    ids = {a["id"] for statement in statements for a in _activities_of(statement) if isinstance(a.get("id"), str)}
    canonical = {a.activity_id: a.definition for a in LrsActivity.objects.filter(activity_hash__in=[value_hash(i) for i in ids])}

    def activity(target: dict) -> dict:
        definition = canonical.get(str(target.get("id")), target.get("definition"))
        result = {**target}
        if isinstance(definition, dict):
            definition = dict(definition)
            for name in ("name", "description"):
                if isinstance(definition.get(name), dict):
                    definition[name] = _best_language(definition[name], accepted)
            for name in ("choices", "scale", "source", "target", "steps"):
                if isinstance(definition.get(name), list):
                    definition[name] = [{**c, "description": _best_language(c.get("description"), accepted)}
                                        if isinstance(c, dict) and isinstance(c.get("description"), dict) else c
                                        for c in definition[name]]
            result["definition"] = definition
        return result

    def part(statement: dict) -> dict:
        """A statement (or SubStatement) with its verb display in one language and its
        activities, object and context ones, given their canonical definitions."""
        statement = dict(statement)
        if isinstance(statement.get("verb"), dict) and isinstance(statement["verb"].get("display"), dict):
            statement["verb"] = {**statement["verb"], "display": _best_language(statement["verb"]["display"], accepted)}
        target = statement.get("object")
        if isinstance(target, dict) and target.get("objectType", "Activity") == "Activity":
            statement["object"] = activity(target)
        elif isinstance(target, dict) and _is_sub(target):
            statement["object"] = part(target)
        context = statement.get("context")
        if isinstance(context, dict) and isinstance(context.get("contextActivities"), dict):
            statement["context"] = {**context, "contextActivities": {
                name: [activity(a) if isinstance(a, dict) else a for a in (values if isinstance(values, list) else [values])]
                for name, values in context["contextActivities"].items()}}
        return statement

    return [part(statement) for statement in statements]


def formatted(statements: list[dict], fmt: str, *, accept_language: str = "") -> list[dict]:
    if fmt == "ids":
        return [_statement_ids(statement) for statement in statements]
    if fmt == "canonical":
        return _canonical(statements, accept_languages(accept_language))
    return statements
