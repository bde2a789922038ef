"""Chinese full-text search over the course library, on the database's own engine.

Text is cut into words by jieba (`cut_for_search`: a long word and the shorter words inside
it, so 信息技术应用能力 is found by 信息技术 and by 应用能力) with a small dictionary of
education terms (search_words.txt) that keeps 师德师风, 双减, 大单元教学 … whole. Four fields
are indexed, in falling weight: the title, the Chinese names of the tags (so 师德 finds a
course tagged 师德师风 and 初中数学 one tagged 初中 + 数学), the provider's name and the
description. The tags' codes are indexed too, as filter tokens (`stage:junior`) that no
query word can match, so a tag filter is a lookup in the same index.

- PostgreSQL: `learning_course.search_vector`, a tsvector with a GIN index (migration 0002),
  written as a tsvector literal from the words cut here, weights A/B/C/D. The literal keeps
  every word exactly: to_tsvector's parser would split `stage:junior`, and how it treats
  Chinese depends on the database's locale. Ranked by ts_rank_cd.
- SQLite: `learning_course_fts`, an FTS5 table (rowid = the course id) holding the same words
  separated by spaces; ranked by bm25() with the same column weights (10 : 4 : 2 : 1).

A query is cut the same way and becomes a tree of quoted words that this module writes
itself (AND over the query's words; each longer word OR the shorter words inside it), never
tsquery or FTS5 syntax taken from the user: & | ! : * ( ) ' " \\ are not words and are
dropped. The relevance score is the engine's rank times a small boost for 精品 courses and
for completions; ties are broken by id.

The index is written by the services that write a course's text (the catalogue import, in
its transaction, a batch at a time), and rebuilt whole by `yanxiu learning reindex`.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from django.db import connection
from django.db.models import BooleanField, FloatField, QuerySet
from django.db.models.expressions import RawSQL

from learning.models import Course

WORDS_FILE = Path(__file__).with_name("search_words.txt")
FIELDS = ("title", "tags", "provider", "description")
PG_WEIGHTS = {"title": "A", "tags": "B", "provider": "C", "description": "D"}
# bm25 column weights, in the FTS5 table's column order (the filter tokens weigh nothing);
# the same ratios as PostgreSQL's default ts_rank weights for A, B, C, D (1.0, 0.4, 0.2, 0.1).
FTS_WEIGHTS = "10.0, 4.0, 2.0, 1.0, 0.0"
# Relevance times this: 精品资源共享课 +20 %, completions a little (1,000 completions: +28 %).
BOOST = "(1.0 + 0.2 * (CASE WHEN {t}.is_featured THEN 1 ELSE 0 END) + 0.04 * LN(1 + {t}.completion_count))"
# Tag kind in filter tokens -> the course's list of codes.
TAG_FIELDS = {"stage": "stages", "subject": "subjects", "topic": "topics", "required": "required_content"}
# One-character words a query can do without (数学与作业 means 数学 作业); kept in the index.
QUERY_STOPWORDS = frozenset("的与和及之在了等对或并其为中")
MAX_POSITION = 16383  # PostgreSQL's largest word position
MAX_POSITIONS_PER_WORD = 256
FTS_TABLE = "learning_course_fts"
_NOT_WORD = re.compile(r"\W+")


@lru_cache(maxsize=1)
def _tokenizer():
    """jieba with the education dictionary, its own instance (the global one serves the
    overlap check of training plans, which keeps its own vocabulary)."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    tokenizer.load_userdict(str(WORDS_FILE))
    return tokenizer


def _normalised(text: str) -> str:
    # Full-width letters and digits (ＡＢＣ１２３) as their ASCII forms, and lower case.
    return unicodedata.normalize("NFKC", text or "").lower()


def _clean(word: str) -> str:
    return _NOT_WORD.sub("", word)


def words(text: str) -> list[str]:
    """The index words of a text, in order (a long word followed by the words inside it)."""
    cut = _tokenizer().cut_for_search(_normalised(text), HMM=False)
    return [word for word in (_clean(piece) for piece in cut) if word]


# --- documents ------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _tag_names() -> dict[str, dict[str, list[str]]]:
    """Tag kind -> code -> its Chinese names (the vocabulary's label and the aliases the
    catalogue import accepts, such as 高中 for 普通高中)."""
    from learning.catalogue import REQUIRED, STAGES, SUBJECTS, TOPICS

    names: dict[str, dict[str, list[str]]] = {}
    for kind, vocabulary in (("stage", STAGES), ("subject", SUBJECTS), ("topic", TOPICS), ("required", REQUIRED)):
        found: dict[str, list[str]] = {}
        for name, code in vocabulary.items():
            if not name.isascii():
                found.setdefault(code, []).append(name)
        names[kind] = found
    return names


@dataclass(frozen=True)
class Document:
    """What the index holds for one course: words per field and the tag filter tokens."""

    title: list[str]
    tags: list[str]
    provider: list[str]
    description: list[str]
    filters: list[str]


def document(course: Course) -> Document:
    names = _tag_names()
    labels, filters = [], []
    for kind, field in TAG_FIELDS.items():
        for code in getattr(course, field) or []:
            labels.extend(names[kind].get(code, [code]))
            filters.append(filter_token(kind, code))
    return Document(title=words(course.title), tags=words(" ".join(labels)), provider=words(course.provider.name),
                    description=words(course.description), filters=filters)


def filter_token(kind: str, code: str) -> str:
    """`stage:junior`: the colon keeps it apart from every word a query can hold."""
    return f"{kind}:{code}"


def _pg_quote(word: str) -> str:
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


def tsvector_literal(doc: Document) -> str:
    """The document as a tsvector literal: every word with its positions and field weight."""
    positions: dict[str, list[str]] = {}
    position = 0
    for field, weight in PG_WEIGHTS.items():
        for word in getattr(doc, field):
            position = min(position + 1, MAX_POSITION)
            found = positions.setdefault(word, [])
            if len(found) < MAX_POSITIONS_PER_WORD:
                found.append(f"{position}{weight}")
    for token in doc.filters:
        positions.setdefault(token, [f"{MAX_POSITION}D"])
    return " ".join(f"{_pg_quote(word)}:{','.join(at)}" for word, at in positions.items())


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def index_courses(courses: Iterable[Course]) -> int:
    """Write the index entries of these courses (their provider loaded), in batches. Callers
    are the services that just wrote the courses, inside their transaction."""
    done = 0
    batch: list[Course] = []
    for course in courses:
        batch.append(course)
        if len(batch) == 500:
            done += _write(batch)
            batch = []
    if batch:
        done += _write(batch)
    return done


def _write(batch: list[Course]) -> int:
    docs = [(course.pk, document(course)) for course in batch]
    with connection.cursor() as cursor:
        if _postgres():
            cursor.execute(
                "UPDATE learning_course AS c SET search_vector = v.doc::tsvector"
                " FROM unnest(%s::bigint[], %s::text[]) AS v(id, doc) WHERE c.id = v.id",
                [[pk for pk, _ in docs], [tsvector_literal(doc) for _, doc in docs]])
        else:
            marks = ", ".join(["%s"] * len(docs))
            cursor.execute(f"DELETE FROM {FTS_TABLE} WHERE rowid IN ({marks})",  # noqa: S608 - our table, placeholders
                           [pk for pk, _ in docs])
            cursor.executemany(
                f"INSERT INTO {FTS_TABLE} (rowid, title, tags, provider, description, filters)"  # noqa: S608 - our table
                " VALUES (%s, %s, %s, %s, %s, %s)",
                [(pk, *(" ".join(getattr(doc, field)) for field in (*FIELDS, "filters"))) for pk, doc in docs])
    return len(docs)


def reindex_all() -> int:
    """Rebuild every course's entry (an operator's command: every course, whoever owns it)."""
    everything = Course.objects.dangerously_unscoped().select_related("provider").order_by("id")
    if not _postgres():
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {FTS_TABLE}")  # noqa: S608 - our table name
    return index_courses(everything.iterator(chunk_size=2000))


# --- queries --------------------------------------------------------------------------------

Alternative = tuple[str, ...]  # words that must all be there
Clause = tuple[Alternative, ...]  # any one of these alternatives


@dataclass(frozen=True)
class Query:
    """AND over clauses; a clause is a word, or the shorter words inside it."""

    clauses: tuple[Clause, ...]

    def __bool__(self) -> bool:
        return bool(self.clauses)


def parse(text: str) -> Query:
    """The user's text as a query of words. Punctuation and operators are not words, so no
    input can reach the engine's syntax; a text without words is an empty query."""
    tokenizer = _tokenizer()
    cut = [_clean(piece) for piece in tokenizer.cut(_normalised(text), HMM=False)]
    found = [word for word in cut if word]
    meaningful = [word for word in found if word not in QUERY_STOPWORDS] or found
    clauses: list[Clause] = []
    for word in dict.fromkeys(meaningful):
        inside = tuple(dict.fromkeys(w for w in (_clean(p) for p in tokenizer.cut_for_search(word, HMM=False))
                                     if w and w != word))
        clauses.append(((word,), inside) if inside else ((word,),))
    return Query(clauses=tuple(clauses[:20]))


def _render(query: Query, quote, both: str, either: str) -> str:
    def group(parts: list[str], joiner: str) -> str:
        return parts[0] if len(parts) == 1 else "(" + joiner.join(parts) + ")"

    return both.join(group([group([quote(w) for w in alternative], both) for alternative in clause], either)
                     for clause in query.clauses)


def tsquery(query: Query) -> str:
    return _render(query, _pg_quote, " & ", " | ")


def _fts_quote(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


def fts_match(query: Query) -> str:
    return "{" + " ".join(FIELDS) + "} : (" + _render(query, _fts_quote, " AND ", " OR ") + ")"


def _pg_matches(tsquery_text: str) -> RawSQL:
    return RawSQL(MATCH_POSTGRES, [tsquery_text], output_field=BooleanField())  # noqa: S611 - fixed SQL, a parameter


def _pg_rank(tsquery_text: str) -> RawSQL:
    return RawSQL(RANK_POSTGRES, [tsquery_text], output_field=FloatField())  # noqa: S611 - fixed SQL, a parameter


def with_tags(rows: QuerySet[Course], tags: dict[str, str]) -> QuerySet[Course]:
    """Only courses carrying every one of these tags (kind -> code), through the index."""
    tokens = [filter_token(kind, code) for kind, code in tags.items() if code]
    if not tokens:
        return rows
    if _postgres():
        condition = " & ".join(_pg_quote(token) for token in tokens)
        return rows.filter(_pg_matches(condition))
    match = "filters : (" + " AND ".join(_fts_quote(token) for token in tokens) + ")"
    return rows.filter(id__in=RawSQL(TAGGED_SQLITE, [match]))  # noqa: S611 - fixed SQL, the tokens are a parameter


RANK_POSTGRES = "ts_rank_cd(learning_course.search_vector, %s::tsquery) * " + BOOST.format(t="learning_course")
MATCH_POSTGRES = "learning_course.search_vector @@ %s::tsquery"
# {allowed}: the SQL Django compiled for the caller's queryset (its values are parameters).
RANKED_SQLITE = (
    f"SELECT c.id, -bm25({FTS_TABLE}, {FTS_WEIGHTS}) * {BOOST.format(t='c')} AS score"  # noqa: S608 - fixed SQL
    f" FROM {FTS_TABLE} JOIN learning_course c ON c.id = {FTS_TABLE}.rowid"
    f" WHERE {FTS_TABLE} MATCH %s AND c.id IN ({{allowed}}) ORDER BY score DESC, c.id LIMIT %s OFFSET %s")
TAGGED_SQLITE = f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s"  # noqa: S608 - fixed SQL text


def ranked(rows: QuerySet[Course], query: Query, *, offset: int, limit: int) -> list[tuple[int, float]]:
    """(course id, score) of the courses among `rows` that match, best first. `rows` is the
    caller's scoped and filtered queryset: the engine only ranks what it already allows."""
    if not query:
        return []
    if _postgres():
        # One scan of the course table with every condition in it, so the sort keeps only the
        # best `limit` rows (id and score) however many match.
        text = tsquery(query)
        best = (rows.filter(_pg_matches(text)).annotate(score=_pg_rank(text))
                .order_by("-score", "id").values_list("id", "score")[offset:offset + limit])
        return [(pk, float(score)) for pk, score in best]
    # FTS5's bm25() is only known inside a query on its table: the caller's queryset joins in
    # as an IN list.
    allowed, allowed_params = rows.order_by().values("id").query.sql_with_params()
    sql, params = RANKED_SQLITE.format(allowed=allowed), [fts_match(query), *allowed_params, limit, offset]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [(pk, float(score)) for pk, score in cursor.fetchall()]
