"""Statement validation (xAPI 1.0.3 and 2.0.0, Data part): every rule the specification gives a
statement, so that an invalid one is refused with 400 and a message naming what is wrong.

`validate_statement` walks the statement once, property by property: each function below
checks one kind of object and names the offending property by its path
(`context.contextActivities.parent[0].id`). It rejects unknown properties, nulls (except
inside extensions), wrong types, badly formed IRIs, UUIDs, language tags, timestamps and
durations, and the NUL character anywhere (PostgreSQL cannot store it). The one change it
makes is the one the specification asks for: a single contextActivities object becomes a
list of one.

One module for both versions: `validate_statement(statement, version=...)` applies 2.0's
changes only to statements that came in a 2.0 request — timestamps must carry a time
zone; `context.contextAgents` / `context.contextGroups` exist; `version` may be 2.0.x.

`statements_equal` decides whether a statement received with a known id is the stored one,
ignoring what the specification lists as exceptions to immutability (section 2.3.1).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import uuid
from collections.abc import Callable
from typing import Any, NoReturn

UUID_PATTERN = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# Properties the LRS sets or may change on a stored statement: a replay may differ in these.
LRS_SET = ("stored", "authority", "version")

VOIDED_VERB = "http://adlnet.gov/expapi/verbs/voided"
# An absolute IRI: a scheme, then characters RFC 3987 allows (no space, control or delimiter).
IRI_PATTERN = re.compile(r'[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>"{}|\\^`\x00-\x1f\x7f]+\Z')
BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
MBOX_PATTERN = re.compile(r'mailto:[^@\s<>()\[\]\\,;:"?\x00-\x1f\x7f]+@[^@\s<>()\[\]\\,;:"?\x00-\x1f\x7f]+\Z')
SHA1_PATTERN = re.compile(r"[0-9a-fA-F]{40}\Z")
# SHA-224, SHA-256, SHA-384, SHA-512 digests in hex.
SHA2_PATTERN = re.compile(r"(?:[0-9a-fA-F]{56}|[0-9a-fA-F]{64}|[0-9a-fA-F]{96}|[0-9a-fA-F]{128})\Z")
# An Internet media type (RFC 2046): type/subtype and parameters.
_TCHARS = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_QUOTED = r'"(?:[^"\\\x00-\x1f]|\\.)*"'
MEDIA_TYPE_PATTERN = re.compile(rf"{_TCHARS}/{_TCHARS}(?:[ \t]*;[ \t]*{_TCHARS}=(?:{_TCHARS}|{_QUOTED}))*\Z")
# Semantic Versioning 1.0.0 within 1.0.x ("1.0" is how the version header may name 1.0.0).
VERSION_PATTERN = re.compile(r"1\.0(?:\.\d+(?:-[0-9A-Za-z-]+)?)?\Z", re.ASCII)
# What a statement sent in a 2.0 request may say: 1.0.x still, or 2.0.x.
VERSION_PATTERN_2 = re.compile(r"[12]\.0(?:\.\d+(?:-[0-9A-Za-z-]+)?)?\Z", re.ASCII)
XAPI_2 = "2.0.0"

# RFC 5646 language tag: langtag, private use or grandfathered (case-insensitive).
_LANGTAG = (r"(?:[A-Za-z]{2,3}(?:-[A-Za-z]{3}){0,3}|[A-Za-z]{4,8})"
            r"(?:-[A-Za-z]{4})?"
            r"(?:-(?:[A-Za-z]{2}|[0-9]{3}))?"
            r"(?:-(?:[A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*"
            r"(?:-[0-9A-WY-Za-wy-z](?:-[A-Za-z0-9]{2,8})+)*"
            r"(?:-[Xx](?:-[A-Za-z0-9]{1,8})+)?")
_GRANDFATHERED = ("en-GB-oed|i-ami|i-bnn|i-default|i-enochian|i-hak|i-klingon|i-lux|i-mingo|i-navajo|i-pwn|i-tao|"
                  "i-tay|i-tsu|sgn-BE-FR|sgn-BE-NL|sgn-CH-DE|art-lojban|cel-gaulish|no-bok|no-nyn|zh-guoyu|"
                  "zh-hakka|zh-min|zh-min-nan|zh-xiang")
LANGUAGE_TAG_PATTERN = re.compile(rf"(?:{_LANGTAG}|[Xx](?:-[A-Za-z0-9]{{1,8}})+|(?i:{_GRANDFATHERED}))\Z")

# ISO 8601 combined date and time, extended or basic format; the offset is optional.
_OFFSET = r"(?P<offset>[Zz]|[+-]\d{2}(?::?\d{2})?)?"
TIMESTAMP_PATTERNS = (
    re.compile(r"(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})[Tt](?P<h>\d{2}):(?P<mi>\d{2})"
               rf"(?::(?P<s>\d{{2}})(?:[.,](?P<f>\d+))?)?{_OFFSET}\Z", re.ASCII),
    re.compile(r"(?P<y>\d{4})(?P<mo>\d{2})(?P<d>\d{2})[Tt](?P<h>\d{2})(?P<mi>\d{2})"
               r"(?:(?P<s>\d{2})(?:[.,](?P<f>\d+))?)?(?P<offset>[Zz]|[+-]\d{2}(?:\d{2})?)?\Z", re.ASCII),
)
# The offset ending a timestamp that has one (what xAPI 2.0 requires).
ZONE_SUFFIX = re.compile(r"(?:[Zz]|[+-]\d{2}(?::?\d{2})?)\Z", re.ASCII)
# "-00", "-0000", "-00:00" mean "offset unknown" (RFC 3339) and are not ISO 8601 offsets.
UNKNOWN_OFFSETS = frozenset({"-00", "-0000", "-00:00"})
# ISO 8601 duration (format with designators): weeks alone, or date and time components.
_N = r"\d+(?:[.,]\d+)?"
DURATION_PATTERN = re.compile(
    rf"P(?:{_N}W|(?=\d|T\d)(?:{_N}Y)?(?:{_N}M)?(?:{_N}D)?(?:T(?=\d)(?:{_N}H)?(?:{_N}M)?(?:{_N}S)?)?)\Z", re.ASCII)
# Only the last (lowest order) component may have a fraction.
DURATION_FRACTION_LAST = re.compile(r"[^.,]*[.,]\d+[YMWDHS]\Z", re.ASCII)

STATEMENT_KEYS = frozenset({"id", "actor", "verb", "object", "result", "context", "timestamp", "stored",
                            "authority", "version", "attachments"})
SUBSTATEMENT_KEYS = frozenset({"objectType", "actor", "verb", "object", "result", "context", "timestamp",
                               "attachments"})
NOT_IN_SUBSTATEMENT = ("id", "stored", "version", "authority")
IFI_NAMES = ("mbox", "mbox_sha1sum", "openid", "account")
AGENT_KEYS = frozenset({"objectType", "name", *IFI_NAMES})
GROUP_KEYS = AGENT_KEYS | {"member"}
# Properties only an Agent or Group has: an object with one of them and no objectType lacks it.
AGENT_MARKERS = frozenset({*IFI_NAMES, "member"})
ACCOUNT_KEYS = frozenset({"homePage", "name"})
VERB_KEYS = frozenset({"id", "display"})
ACTIVITY_KEYS = frozenset({"objectType", "id", "definition"})
STATEMENT_REF_KEYS = frozenset({"objectType", "id"})
COMPONENT_LISTS = ("choices", "scale", "source", "target", "steps")
DEFINITION_KEYS = frozenset({"name", "description", "type", "moreInfo", "extensions", "interactionType",
                             "correctResponsesPattern", *COMPONENT_LISTS})
# Which interaction component lists each interactionType may have.
INTERACTION_TYPES: dict[str, frozenset[str]] = {
    "true-false": frozenset(), "fill-in": frozenset(), "long-fill-in": frozenset(), "numeric": frozenset(),
    "other": frozenset(), "choice": frozenset({"choices"}), "sequencing": frozenset({"choices"}),
    "likert": frozenset({"scale"}), "matching": frozenset({"source", "target"}),
    "performance": frozenset({"steps"}),
}
COMPONENT_KEYS = frozenset({"id", "description"})
RESULT_KEYS = frozenset({"score", "success", "completion", "response", "duration", "extensions"})
SCORE_KEYS = frozenset({"scaled", "raw", "min", "max"})
CONTEXT_KEYS = frozenset({"registration", "instructor", "team", "contextActivities", "revision", "platform",
                          "language", "statement", "extensions"})
CONTEXT_KEYS_2 = CONTEXT_KEYS | {"contextAgents", "contextGroups"}
CONTEXT_AGENT_KEYS = frozenset({"objectType", "agent", "relevantTypes"})
CONTEXT_GROUP_KEYS = frozenset({"objectType", "group", "relevantTypes"})
CONTEXT_ACTIVITY_KEYS = frozenset({"parent", "grouping", "category", "other"})
ATTACHMENT_KEYS = frozenset({"usageType", "display", "description", "contentType", "length", "sha2", "fileUrl"})
ATTACHMENT_REQUIRED = ("usageType", "display", "contentType", "length", "sha2")

# Offsets already parsed, by spelling ("+08:00"): building a timezone is the costly part.
_ZONES: dict[str, dt.tzinfo] = {"Z": dt.UTC, "z": dt.UTC}
# Language tags seen valid: a set lookup is much cheaper than the regex (few distinct tags).
_KNOWN_TAGS: set[str] = set()
_KNOWN_TAGS_MAX = 2048


class StatementInvalid(ValueError):
    """The statement (or parameter) breaks a rule of the specification; the message says which."""


# --- primitives -------------------------------------------------------------------------------

def _fail(path: str, problem: str) -> NoReturn:
    raise StatementInvalid(f"{path} {problem}" if path else problem)


def _shown(value: Any) -> str:
    """A value for a message, cut short: the message must not echo a megabyte back."""
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}…"


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _dict(value: Any, path: str) -> dict:
    if type(value) is not dict:
        _fail(path, "应为 JSON 对象" if value is not None else "不能为 null")
    return value


def _keys(obj: dict, allowed: frozenset[str], path: str) -> None:
    if not allowed.issuperset(obj):
        name = next(key for key in obj if key not in allowed)
        if isinstance(name, str) and "\x00" in name:
            raise StatementInvalid(f"{path or '语句'} 的属性名含有 NUL 字符（\\u0000）")
        _fail(_join(path, name if len(name) <= 60 else _shown(name)), "不是规范允许的属性（属性名区分大小写）")


def _required(obj: dict, names: tuple[str, ...], path: str) -> None:
    for name in names:
        if name not in obj:
            _fail("", f"缺少必需属性 {_join(path, name)}")


def _string(value: Any, path: str) -> str:
    if type(value) is not str:
        _fail(path, "应为字符串" if value is not None else "不能为 null")
    if "\x00" in value:
        _fail(path, "含有 NUL 字符（\\u0000）")
    return value


def _boolean(value: Any, path: str) -> None:
    if type(value) is not bool:
        _fail(path, "应为布尔值（true 或 false）")


def _number(value: Any, path: str) -> float:
    if type(value) is int:
        return value
    if type(value) is float and math.isfinite(value):
        return value
    _fail(path, "应为数字")


def _list(value: Any, path: str) -> list:
    if type(value) is not list:
        _fail(path, "应为数组" if value is not None else "不能为 null")
    return value


def _iri(value: Any, path: str) -> None:
    if type(value) is not str or not IRI_PATTERN.match(value) or ("%" in value and BAD_PERCENT.search(value)):
        if type(value) is not str:
            _string(value, path)
        _fail(path, "不是绝对 IRI")


def _uuid(value: Any, path: str) -> None:
    if type(value) is not str or not UUID_PATTERN.fullmatch(value):
        _fail(path, "不是有效的 UUID")


def _language_tag(tag: str) -> bool:
    if tag in _KNOWN_TAGS:
        return True
    if type(tag) is not str or not LANGUAGE_TAG_PATTERN.match(tag):
        return False
    if len(_KNOWN_TAGS) < _KNOWN_TAGS_MAX:
        _KNOWN_TAGS.add(tag)
    return True


def _language_map(value: Any, path: str) -> None:
    for tag, text in _dict(value, path).items():
        if not _language_tag(tag):
            _fail(path, f"的键 {_shown(tag)} 不是有效的 RFC 5646 语言标签")
        _string(text, f"{path}.{tag}")


def _free_json(value: Any, path: str) -> None:
    """Any JSON value (an extension's): only NUL characters and non-finite numbers are refused.
    Iterative, so a deeply nested value cannot exhaust the stack."""
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is str:
            if "\x00" in item:
                _fail(path, "含有 NUL 字符（\\u0000）")
        elif kind is dict:
            for key, inner in item.items():
                if not isinstance(key, str) or "\x00" in key:
                    _fail(path, "的属性名含有 NUL 字符（\\u0000）")
                stack.append(inner)
        elif kind is list:
            stack.extend(item)
        elif kind is float and not math.isfinite(item):
            _fail(path, "含有非有限数字（NaN 或 Infinity）")
        elif kind not in (int, float, bool, type(None)):
            _fail(path, "不是 JSON 值")


def _extensions(value: Any, path: str) -> None:
    for key, inner in _dict(value, path).items():
        _iri(key, f"{path} 的键 {_shown(key)}")
        _free_json(inner, f"{path}[{_shown(key)}]")


def _timestamp(value: Any, path: str, *, zoned: bool = False) -> None:
    """`zoned` (xAPI 2.0): the time zone (Z or an offset) is required."""
    _string(value, path)
    try:
        parse_timestamp(value)
    except StatementInvalid:
        _fail(path, f"不是 ISO 8601 时间戳：{_shown(value)}")
    if zoned and not ZONE_SUFFIX.search(value):
        _fail(path, f"须注明时区（Z 或 ±hh:mm），收到 {_shown(value)}")


def _duration(value: Any, path: str) -> None:
    _string(value, path)
    if not DURATION_PATTERN.match(value) or (
            ("." in value or "," in value) and not DURATION_FRACTION_LAST.match(value)):
        _fail(path, f"不是 ISO 8601 时长：{_shown(value)}")


# --- public helpers ---------------------------------------------------------------------------

def validate_uuid(value: Any) -> str:
    if not isinstance(value, str) or not UUID_PATTERN.fullmatch(value):
        raise StatementInvalid(f"不是有效的 UUID：{_shown(value)}")
    return str(uuid.UUID(value))


def _moment(match: re.Match) -> dt.datetime:
    """The instant a timestamp match names (24:00 and leap seconds carried over)."""
    hour, minute = int(match["h"]), int(match["mi"])
    second = int(match["s"] or 0)
    fraction = match["f"] or ""
    micro = int((fraction + "000000")[:6])
    carry = dt.timedelta()
    if hour == 24 and minute == 0 and second == 0 and not fraction.strip("0"):
        hour, carry = 0, dt.timedelta(days=1)  # ISO 8601 end of day
    if second == 60:
        second, carry = 59, dt.timedelta(seconds=1)  # leap second
    return dt.datetime(int(match["y"]), int(match["mo"]), int(match["d"]), hour, minute, second, micro,
                       tzinfo=_offset(match["offset"])) + carry


def _offset(text: str | None) -> dt.tzinfo:
    if text is None:
        return dt.UTC
    zone = _ZONES.get(text)
    if zone is None:
        if text in UNKNOWN_OFFSETS:
            raise ValueError("unknown offset")
        digits = text[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:] or 0)
        if minutes >= 60:
            raise ValueError("minutes out of range")
        delta = dt.timedelta(hours=hours, minutes=minutes)
        zone = dt.timezone(-delta if text[0] == "-" else delta)  # ValueError beyond 24 hours
        _ZONES[text] = zone  # at most a few thousand distinct spellings
    return zone


def parse_timestamp(value: Any) -> dt.datetime:
    """An ISO 8601 date and time, as the instant in UTC; without an offset it is taken as UTC."""
    if isinstance(value, str):
        for pattern in TIMESTAMP_PATTERNS:
            match = pattern.match(value)
            if match:
                try:
                    # In UTC: an instant beyond datetime's range there is refused here, not on saving.
                    return _moment(match).astimezone(dt.UTC)
                except (ValueError, OverflowError):
                    break
    raise StatementInvalid(f"时间戳应为 ISO 8601 格式：{_shown(value)}")


# --- agents and groups ------------------------------------------------------------------------

def _account(value: Any, path: str) -> None:
    account = _dict(value, path)
    _keys(account, ACCOUNT_KEYS, path)
    _required(account, ("homePage", "name"), path)
    _iri(account["homePage"], f"{path}.homePage")
    _string(account["name"], f"{path}.name")


def _identifiers(obj: dict, path: str) -> int:
    """Check each inverse functional identifier present; how many there are."""
    count = 0
    if "mbox" in obj:
        count += 1
        mbox = obj["mbox"]
        if type(mbox) is not str or not MBOX_PATTERN.match(mbox):
            _string(mbox, f"{path}.mbox")
            _fail(f"{path}.mbox", "应为 mailto: 电子邮件地址")
    if "mbox_sha1sum" in obj:
        count += 1
        digest = obj["mbox_sha1sum"]
        if type(digest) is not str or not SHA1_PATTERN.match(digest):
            _fail(f"{path}.mbox_sha1sum", "应为 40 位十六进制 SHA-1 摘要")
    if "openid" in obj:
        count += 1
        _iri(obj["openid"], f"{path}.openid")
    if "account" in obj:
        count += 1
        _account(obj["account"], f"{path}.account")
    if count > 1:
        _fail(path, "只能有一个身份标识（mbox、mbox_sha1sum、openid、account 之一）")
    return count


def _agent(obj: dict, path: str) -> None:
    _keys(obj, AGENT_KEYS, path)
    if "name" in obj:
        _string(obj["name"], f"{path}.name")
    if not _identifiers(obj, path):
        _fail(path, "须有且只有一个身份标识（mbox、mbox_sha1sum、openid 或 account）")


def _member(value: Any, path: str) -> None:
    member = _dict(value, path)
    kind = member.get("objectType", "Agent")
    if kind != "Agent":
        _fail(f"{path}.objectType", "Group 的成员只能是 Agent" if kind == "Group" else "应为 Agent")
    _agent(member, path)


def _group(obj: dict, path: str, *, identified: bool = False) -> int:
    """Check a Group; how many identifiers it has (0: anonymous)."""
    _keys(obj, GROUP_KEYS, path)
    if "name" in obj:
        _string(obj["name"], f"{path}.name")
    count = _identifiers(obj, path)
    if "member" in obj:
        for position, member in enumerate(_list(obj["member"], f"{path}.member")):
            _member(member, f"{path}.member[{position}]")
    if not count and not obj.get("member"):
        _fail(path, "匿名 Group 须有 member 且至少列出一个 Agent")
    if identified and not count:
        _fail(path, "须为 Agent 或有身份标识的 Group")
    return count


def _actor(value: Any, path: str, *, type_required: bool = False, identified: bool = False) -> str:
    """An Agent or Group (objectType optional for an Agent unless required); which it is."""
    obj = _dict(value, path)
    if "objectType" in obj:
        kind = obj["objectType"]
    elif type_required:
        _fail("", f"缺少必需属性 {path}.objectType")
    else:
        kind = "Agent"
    if kind == "Agent":
        _agent(obj, path)
    elif kind == "Group":
        _group(obj, path, identified=identified)
    else:
        _fail(f"{path}.objectType", "应为 Agent 或 Group（区分大小写）")
    return kind


def _authority(value: Any, path: str) -> None:
    """An Agent, or (3-legged OAuth) an anonymous Group of exactly two Agents."""
    if _actor(value, path) == "Group":
        if _identifiers(value, path) or len(value.get("member", ())) != 2:
            _fail(path, "为 Group 时只能是恰有两个 Agent 成员的匿名 Group（OAuth 应用与用户）")


def validate_agent(agent: Any, *, identified: bool = False) -> None:
    """An Agent or Group (as the `agent` query parameter: `identified` refuses anonymous groups)."""
    _actor(agent, "agent", identified=identified)


# --- verb and object --------------------------------------------------------------------------

def _verb(value: Any, path: str) -> None:
    verb = _dict(value, path)
    _keys(verb, VERB_KEYS, path)
    if "id" not in verb:
        _fail("", f"缺少必需属性 {path}.id")
    _iri(verb["id"], f"{path}.id")
    if "display" in verb:
        _language_map(verb["display"], f"{path}.display")


def _components(value: Any, path: str) -> None:
    seen: set[str] = set()
    for position, item in enumerate(_list(value, path)):
        where = f"{path}[{position}]"
        component = _dict(item, where)
        _keys(component, COMPONENT_KEYS, where)
        if "id" not in component:
            _fail("", f"缺少必需属性 {where}.id")
        ident = _string(component["id"], f"{where}.id")
        if ident in seen:
            _fail(f"{where}.id", f"与同一列表中的另一项重复：{_shown(ident)}")
        seen.add(ident)
        if "description" in component:
            _language_map(component["description"], f"{where}.description")


def _interaction(definition: dict, path: str) -> None:
    kind = definition.get("interactionType")
    if "interactionType" in definition and (type(kind) is not str or kind not in INTERACTION_TYPES):
        _fail(f"{path}.interactionType", "不是规范定义的交互类型（区分大小写）")
    lists = INTERACTION_TYPES.get(kind, frozenset()) if kind is not None else frozenset()
    for name in COMPONENT_LISTS:
        if name in definition:
            if name not in lists:
                _fail(f"{path}.{name}", f"不适用于 interactionType {kind!r}" if kind else "须与 interactionType 一起使用")
            _components(definition[name], f"{path}.{name}")
    if "correctResponsesPattern" in definition:
        if kind is None:
            _fail(f"{path}.correctResponsesPattern", "须与 interactionType 一起使用")
        where = f"{path}.correctResponsesPattern"
        for position, pattern in enumerate(_list(definition["correctResponsesPattern"], where)):
            _string(pattern, f"{where}[{position}]")


def _optional(obj: dict, path: str, **checks: Callable[[Any, str], Any]) -> None:
    """Check each optional property that is present with its validator."""
    for name, check in checks.items():
        if name in obj:
            check(obj[name], f"{path}.{name}")


def _definition(value: Any, path: str) -> None:
    definition = _dict(value, path)
    _keys(definition, DEFINITION_KEYS, path)
    _optional(definition, path, name=_language_map, description=_language_map, type=_iri, moreInfo=_iri,
              extensions=_extensions)
    _interaction(definition, path)


def _activity(obj: dict, path: str) -> None:
    _keys(obj, ACTIVITY_KEYS, path)
    if obj.get("objectType", "Activity") != "Activity":
        _fail(f"{path}.objectType", "应为 Activity")
    if "id" not in obj:
        _fail("", f"缺少必需属性 {path}.id")
    _iri(obj["id"], f"{path}.id")
    if "definition" in obj:
        _definition(obj["definition"], f"{path}.definition")


def _statement_ref(obj: dict, path: str) -> None:
    _keys(obj, STATEMENT_REF_KEYS, path)
    if obj.get("objectType") != "StatementRef":
        _fail("", f"缺少必需属性 {path}.objectType（应为 StatementRef）")
    if "id" not in obj:
        _fail("", f"缺少必需属性 {path}.id")
    _uuid(obj["id"], f"{path}.id")


def _object(value: Any, path: str, *, in_substatement: bool, v2: bool = False) -> bool:
    """Check a statement's object; whether it is an Activity."""
    obj = _dict(value, path)
    kind = obj.get("objectType", "Activity")
    if kind == "Activity":
        if "objectType" not in obj and not ACTIVITY_KEYS.issuperset(obj) and not AGENT_MARKERS.isdisjoint(obj):
            _fail("", f"缺少必需属性 {path}.objectType（object 为 Agent 或 Group 时必须写明）")
        _activity(obj, path)
        return True
    if kind in ("Agent", "Group"):
        _actor(obj, path)
    elif kind == "StatementRef":
        _statement_ref(obj, path)
    elif kind == "SubStatement":
        if in_substatement:
            _fail(f"{path}.objectType", "SubStatement 不能嵌套 SubStatement")
        _substatement(obj, path, v2=v2)
    else:
        _fail(f"{path}.objectType", "应为 Activity、Agent、Group、SubStatement 或 StatementRef（区分大小写）")
    return False


def _substatement(obj: dict, path: str, *, v2: bool) -> None:
    for name in NOT_IN_SUBSTATEMENT:
        if name in obj:
            _fail(f"{path}.{name}", "SubStatement 不能有此属性")
    _keys(obj, SUBSTATEMENT_KEYS, path)
    _statement_body(obj, path, in_substatement=True, v2=v2)


# --- result, context, attachments -------------------------------------------------------------

def _score(value: Any, path: str) -> None:
    score = _dict(value, path)
    _keys(score, SCORE_KEYS, path)
    numbers = {name: _number(score[name], f"{path}.{name}") for name in score}
    scaled, raw, low, high = (numbers.get(name) for name in ("scaled", "raw", "min", "max"))
    if scaled is not None and not -1 <= scaled <= 1:
        _fail(f"{path}.scaled", "应在 -1 与 1 之间")
    if low is not None and high is not None and not low < high:
        _fail(f"{path}.min", "应小于 max")
    if raw is not None and low is not None and raw < low:
        _fail(f"{path}.raw", "不能小于 min")
    if raw is not None and high is not None and raw > high:
        _fail(f"{path}.raw", "不能大于 max")


def _result(value: Any, path: str) -> None:
    result = _dict(value, path)
    _keys(result, RESULT_KEYS, path)
    _optional(result, path, score=_score, success=_boolean, completion=_boolean, response=_string,
              duration=_duration, extensions=_extensions)


def _context_activities(value: Any, path: str) -> None:
    """Each value an Activity or a list of them; a single Activity becomes a list of one."""
    activities = _dict(value, path)
    _keys(activities, CONTEXT_ACTIVITY_KEYS, path)
    for kind, listed in activities.items():
        if type(listed) is dict:
            _activity(listed, f"{path}.{kind}")
            activities[kind] = [listed]
            continue
        for position, activity in enumerate(_list(listed, f"{path}.{kind}")):
            where = f"{path}.{kind}[{position}]"
            _activity(_dict(activity, where), where)


def _relevant_types(value: Any, path: str) -> None:
    types = _list(value, path)
    if not types:
        _fail(path, "不能为空数组")
    for position, iri in enumerate(types):
        _iri(iri, f"{path}[{position}]")


def _context_members(value: Any, path: str, *, kind: str) -> None:
    """xAPI 2.0 contextAgents / contextGroups: a list of {objectType: contextAgent|contextGroup,
    agent|group, relevantTypes (a non-empty list of IRIs, optional)}."""
    for position, item in enumerate(_list(value, path)):
        where = f"{path}[{position}]"
        entry = _dict(item, where)
        _keys(entry, CONTEXT_AGENT_KEYS if kind == "agent" else CONTEXT_GROUP_KEYS, where)
        expected = "contextAgent" if kind == "agent" else "contextGroup"
        _required(entry, ("objectType", kind), where)
        if entry["objectType"] != expected:
            _fail(f"{where}.objectType", f"应为 {expected}")
        if kind == "agent":
            actor = _dict(entry["agent"], f"{where}.agent")
            if actor.get("objectType", "Agent") != "Agent":
                _fail(f"{where}.agent.objectType", "应为 Agent")
            _agent(actor, f"{where}.agent")
        elif _actor(entry["group"], f"{where}.group", type_required=True) != "Group":
            _fail(f"{where}.group.objectType", "应为 Group")
        if "relevantTypes" in entry:
            _relevant_types(entry["relevantTypes"], f"{where}.relevantTypes")


def _context(value: Any, path: str, *, object_is_activity: bool, v2: bool = False) -> None:
    context = _dict(value, path)
    _keys(context, CONTEXT_KEYS_2 if v2 else CONTEXT_KEYS, path)
    if "contextAgents" in context:
        _context_members(context["contextAgents"], f"{path}.contextAgents", kind="agent")
    if "contextGroups" in context:
        _context_members(context["contextGroups"], f"{path}.contextGroups", kind="group")
    if "registration" in context:
        _uuid(context["registration"], f"{path}.registration")
    if "instructor" in context:
        _actor(context["instructor"], f"{path}.instructor")
    if "team" in context and _actor(context["team"], f"{path}.team", type_required=True) != "Group":
        _fail(f"{path}.team.objectType", "应为 Group")
    if "contextActivities" in context:
        _context_activities(context["contextActivities"], f"{path}.contextActivities")
    for name in ("revision", "platform"):
        if name in context:
            _string(context[name], f"{path}.{name}")
            if not object_is_activity:
                _fail(f"{path}.{name}", "只能在语句的 object 为 Activity 时使用")
    if "language" in context:
        language = _string(context["language"], f"{path}.language")
        if not _language_tag(language):
            _fail(f"{path}.language", "不是有效的 RFC 5646 语言标签")
    if "statement" in context:
        _statement_ref(_dict(context["statement"], f"{path}.statement"), f"{path}.statement")
    if "extensions" in context:
        _extensions(context["extensions"], f"{path}.extensions")


def _attachment(value: Any, path: str) -> None:
    attachment = _dict(value, path)
    _keys(attachment, ATTACHMENT_KEYS, path)
    _required(attachment, ATTACHMENT_REQUIRED, path)
    _iri(attachment["usageType"], f"{path}.usageType")
    _language_map(attachment["display"], f"{path}.display")
    if "description" in attachment:
        _language_map(attachment["description"], f"{path}.description")
    if not MEDIA_TYPE_PATTERN.match(_string(attachment["contentType"], f"{path}.contentType")):
        _fail(f"{path}.contentType", "不是有效的互联网媒体类型")
    length = attachment["length"]
    if type(length) is not int or length < 0:
        _fail(f"{path}.length", "应为非负整数")
    sha2 = attachment["sha2"]
    if type(sha2) is not str or not SHA2_PATTERN.match(sha2):
        _fail(f"{path}.sha2", "应为十六进制的 SHA-2 摘要")
    if "fileUrl" in attachment:
        _iri(attachment["fileUrl"], f"{path}.fileUrl")


# --- statements -------------------------------------------------------------------------------

def _statement_body(statement: dict, path: str, *, in_substatement: bool, v2: bool) -> None:
    """What a Statement and a SubStatement share."""
    _required(statement, ("actor", "verb", "object"), path)
    _actor(statement["actor"], _join(path, "actor"))
    _verb(statement["verb"], _join(path, "verb"))
    is_activity = _object(statement["object"], _join(path, "object"), in_substatement=in_substatement, v2=v2)
    if "result" in statement:
        _result(statement["result"], _join(path, "result"))
    if "context" in statement:
        _context(statement["context"], _join(path, "context"), object_is_activity=is_activity, v2=v2)
    if "timestamp" in statement:
        _timestamp(statement["timestamp"], _join(path, "timestamp"), zoned=v2)
    if "attachments" in statement:
        where = _join(path, "attachments")
        for position, attachment in enumerate(_list(statement["attachments"], where)):
            _attachment(attachment, f"{where}[{position}]")


def validate_statement(statement: Any, *, version: str = "1.0.3") -> dict:
    """Check a statement against every rule of xAPI 1.0.3 (or, `version` 2.0.0, of xAPI 2.0);
    raise StatementInvalid naming the offending property. Normalises in place
    (contextActivities values become lists) and returns the statement."""
    if type(statement) is not dict:
        raise StatementInvalid("语句应为 JSON 对象")
    v2 = version == XAPI_2
    _keys(statement, STATEMENT_KEYS, "")
    if "id" in statement:
        _uuid(statement["id"], "id")
    _statement_body(statement, "", in_substatement=False, v2=v2)
    if statement["verb"]["id"] == VOIDED_VERB and statement["object"].get("objectType") != "StatementRef":
        _fail("object.objectType", "作废语句（verb 为 voided）的 object 须为 StatementRef")
    if "stored" in statement:
        _timestamp(statement["stored"], "stored", zoned=v2)
    if "authority" in statement:
        _authority(statement["authority"], "authority")
    if "version" in statement:
        stated = _string(statement["version"], "version")
        if v2 and not VERSION_PATTERN_2.match(stated):
            _fail("version", f"应以 1.0. 或 2.0. 开头（如 2.0.0），收到 {_shown(stated)}")
        if not v2 and not VERSION_PATTERN.match(stated):
            _fail("version", f"应以 1.0. 开头（如 1.0.0），收到 {_shown(stated)}")
    return statement


# --- comparison (specification 2.3.1) ---------------------------------------------------------

def _instant(value: Any) -> Any:
    """A timestamp as the instant it names, to the millisecond (the precision the LRS must keep)."""
    try:
        moment = parse_timestamp(value)
    except StatementInvalid:
        return value
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _language_keys(value: Any) -> Any:
    """Language tags are case-insensitive."""
    return {_lower(tag): text for tag, text in value.items()} if isinstance(value, dict) else value


def _canonical_mbox(value: Any) -> Any:
    """The domain of an e-mail address is case-insensitive."""
    if isinstance(value, str) and "@" in value:
        local, _, domain = value.rpartition("@")
        return f"{local}@{domain.lower()}"
    return value


def _canonical_agent(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    agent = dict(value)
    if "mbox" in agent:
        agent["mbox"] = _canonical_mbox(agent["mbox"])
    if "mbox_sha1sum" in agent:
        agent["mbox_sha1sum"] = _lower(agent["mbox_sha1sum"])
    if isinstance(agent.get("member"), list):
        # Members are an unordered list.
        members = [_canonical_agent(member) for member in agent["member"]]
        agent["member"] = sorted(members, key=lambda member: json.dumps(member, sort_keys=True, default=str))
    return agent


def _canonical_activity(value: Any) -> Any:
    # An activity's definition is not part of the statement (the LRS keeps a canonical one).
    if not isinstance(value, dict):
        return value
    return {key: inner for key, inner in value.items() if key != "definition"}


def _canonical_object(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    kind = value.get("objectType", "Activity")
    if kind == "Activity":
        return _canonical_activity(value)
    if kind in ("Agent", "Group"):
        return _canonical_agent(value)
    if kind == "StatementRef":
        return {**value, "id": _lower(value.get("id"))}
    if kind == "SubStatement":
        return _canonical(value)
    return value


def _canonical_context(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    context = dict(value)
    if "registration" in context:
        context["registration"] = _lower(context["registration"])
    for name in ("instructor", "team"):
        if name in context:
            context[name] = _canonical_agent(context[name])
    for name, member in (("contextAgents", "agent"), ("contextGroups", "group")):
        if isinstance(context.get(name), list):
            context[name] = [{**entry, member: _canonical_agent(entry.get(member))} if isinstance(entry, dict)
                             else entry for entry in context[name]]
    if isinstance(context.get("contextActivities"), dict):
        context["contextActivities"] = {
            kind: [_canonical_activity(a) for a in (listed if isinstance(listed, list) else [listed])]
            for kind, listed in context["contextActivities"].items()}
    if isinstance(context.get("statement"), dict):
        context["statement"] = {**context["statement"], "id": _lower(context["statement"].get("id"))}
    if "language" in context:
        context["language"] = _lower(context["language"])
    return context


def _canonical_duration(value: Any) -> Any:
    """Durations compare as strings, but not beyond 0.01 second."""
    if isinstance(value, str):
        return re.sub(r"([.,]\d{2})\d+S$", r"\1S", value)
    return value


def _canonical(statement: dict) -> dict:
    """The statement without what may differ between two serialisations of the same one."""
    canonical = {name: value for name, value in statement.items() if name not in LRS_SET}
    if "id" in canonical:
        canonical["id"] = _lower(canonical["id"])
    canonical["actor"] = _canonical_agent(canonical.get("actor"))
    if isinstance(canonical.get("verb"), dict):
        # The verb's display is not part of the statement.
        canonical["verb"] = {key: inner for key, inner in canonical["verb"].items() if key != "display"}
    canonical["object"] = _canonical_object(canonical.get("object"))
    if "context" in canonical:
        canonical["context"] = _canonical_context(canonical["context"])
    if isinstance(canonical.get("result"), dict) and "duration" in canonical["result"]:
        canonical["result"] = {**canonical["result"], "duration": _canonical_duration(canonical["result"]["duration"])}
    if "timestamp" in canonical:
        canonical["timestamp"] = _instant(canonical["timestamp"])
    if isinstance(canonical.get("attachments"), list):
        canonical["attachments"] = [
            {**a, "display": _language_keys(a.get("display")), "description": _language_keys(a.get("description")),
             "sha2": _lower(a.get("sha2"))} if isinstance(a, dict) else a for a in canonical["attachments"]]
    return canonical


def statements_equal(stored: dict, received: dict) -> bool:
    """Whether a received statement is the one already stored, ignoring the exceptions to
    immutability: what the LRS sets (authority, stored, version; timestamp when the received
    one has none), verb display and activity definitions, the representation of timestamps,
    the order of group members, and the case of case-insensitive values (UUIDs, e-mail
    domains, language tags, hex digests)."""
    if not isinstance(stored, dict) or not isinstance(received, dict):
        return stored == received
    stored_form, received_form = _canonical(stored), _canonical(received)
    if "timestamp" not in received:
        stored_form.pop("timestamp", None)
    return stored_form == received_form
