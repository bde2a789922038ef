"""Anonymous rating results: per question the mean and the count, at every drill-down level of
the viewer's projects (all → level × category → implementing institution → project → window),
and only where they cannot single anyone out.

A cell is shown only once its windows have closed (评价尚未结束), with at least
RATING_MIN_RESPONSES responses (样本不足) and a response rate of at least RATING_MIN_RATE
(应答率不足50%). Then complementary suppression (为防推算而隐藏): a parent is the sum of its
children, for the count and for the answer sum of every question, so a hidden cell could be
recovered from a shown parent and its shown siblings. The rule applied: in every such equation
(one per parent and measure) the hidden cells are none or at least two. In a tree (each cell has
one parent) that is enough: no hidden cell is then a linear combination of the shown ones (a
property test checks it with the rank of the equations, evaluation/tests/test_suppression.py).

Cells are computed for one viewer's tree; open windows are left out of every sum (their cell says
评价尚未结束), and a question a window's questionnaire lacks counts as a known zero in its sums."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from access.policy import PROJECT_OVERSEE, visible
from access.scope import Scope
from catalog.constants import Level, ProjectCategory
from catalog.models import Project
from evaluation.constants import DIMENSION_LABELS, RATING_MIN_RATE, RATING_MIN_RESPONSES, Dimension
from evaluation.models import InstrumentItem, RatingResponse, RatingWindow

NOT_CLOSED = "评价尚未结束"
TOO_FEW = "样本不足"
LOW_RATE = "应答率不足50%"
COMPLEMENT = "为防推算而隐藏"
COUNT = "__count__"
RATING_DIMENSIONS = (Dimension.CONTENT, Dimension.DELIVERY, Dimension.ORGANISATION, Dimension.OVERALL)


@dataclass
class Question:
    key: str  # "instrument id:item number"
    instrument: str
    number: int
    text: str
    dimension: str
    reverse: bool
    scale_min: int
    scale_max: int


@dataclass
class Cell:
    """One row of the drill-down: its own responses, eligible trainees and answer sums (closed
    windows only), the questions it has, and whether and why it is hidden."""

    key: str
    level: str  # all / group / institution / project / window
    label: str
    children: list[Cell] = field(default_factory=list)
    responses: int = 0
    eligible: int = 0
    sums: dict[str, int] = field(default_factory=dict)
    measures: set[str] = field(default_factory=set)
    closed: bool = False
    reason: str = ""
    project_id: int | None = None
    window_id: int | None = None
    opens_on: dt.date | None = None
    closes_on: dt.date | None = None

    @property
    def suppressed(self) -> bool:
        return bool(self.reason)

    @property
    def rate(self) -> Decimal | None:
        if not self.eligible:
            return None
        return Decimal(self.responses) / Decimal(self.eligible)

    def walk(self) -> Iterator[Cell]:
        yield self
        for child in self.children:
            yield from child.walk()


# --- suppression ------------------------------------------------------------------------------


def primary_reason(cell: Cell) -> str:
    if not cell.closed:
        return NOT_CLOSED
    if cell.responses < RATING_MIN_RESPONSES:
        return TOO_FEW
    rate = cell.rate
    if rate is None or rate < RATING_MIN_RATE:
        return LOW_RATE
    return ""


def _members(parent: Cell, measure: str) -> list[Cell]:
    """The children in the parent's equation for `measure`: closed ones that have it."""
    return [child for child in parent.children if child.closed and (measure == COUNT or measure in child.measures)]


def suppress(root: Cell) -> Cell:
    """Primary suppression, then complementary suppression until every equation (parent = sum of
    its closed children, per measure) hides none or at least two of its cells."""
    for cell in root.walk():
        cell.reason = primary_reason(cell)
    parents = [cell for cell in root.walk() if cell.children and cell.closed]
    changed = True
    while changed:
        changed = False
        for parent in parents:
            for measure in (COUNT, *sorted(parent.measures)):
                members = _members(parent, measure)
                hidden = [cell for cell in (parent, *members) if cell.suppressed]
                if len(hidden) != 1:
                    continue
                shown = sorted((cell for cell in members if not cell.suppressed),
                               key=lambda cell: (cell.responses, cell.key))
                (shown[0] if shown else parent).reason = COMPLEMENT
                changed = True
    return root


# --- building the tree --------------------------------------------------------------------------


def _today():
    from evaluation.ratings import today

    return today()


def overseen_projects(scope: Scope):
    """The projects whose results the viewer may read: the administrators over the organiser and
    the implementing institution (never a trainee: they see their own window only)."""
    return visible(scope, Project).filter(PROJECT_OVERSEE.q(scope))


def _window_cell(window: RatingWindow, closed: bool, answers: list[dict], keys: dict[int, list[str]]) -> Cell:
    cell = Cell(key=f"window:{window.pk}", level="window", label=f"{window.opens_on}至{window.closes_on}",
                closed=closed, project_id=window.project_id, window_id=window.pk,
                opens_on=window.opens_on, closes_on=window.closes_on)
    if closed:
        cell.responses = len(answers)
        cell.eligible = window.eligible or 0
        measures = keys.get(window.instrument_id, [])
        cell.measures = set(measures)
        for key in measures:
            number = key.split(":", 1)[1]
            cell.sums[key] = sum(int(given.get(number, 0)) for given in answers)
    return cell


def _roll_up(cell: Cell) -> Cell:
    for child in cell.children:
        _roll_up(child)
    if cell.children:
        closed = [child for child in cell.children if child.closed]
        cell.closed = bool(closed)
        cell.responses = sum(child.responses for child in closed)
        cell.eligible = sum(child.eligible for child in closed)
        cell.measures = set().union(*(child.measures for child in closed)) if closed else set()
        cell.sums = {key: sum(child.sums.get(key, 0) for child in closed) for key in cell.measures}
    return cell


@dataclass
class Results:
    root: Cell
    questions: dict[str, Question]
    projects: dict[int, Cell]
    windows: dict[int, Cell]


def build(windows: Iterable[RatingWindow], answers_of: dict[int, list[dict]], label: str = "全部项目") -> Results:
    """The drill-down tree of these windows (with their projects and instruments loaded), its
    cells filled and suppressed."""
    from evaluation.ratings import fix_eligible

    today = _today()
    windows = list(windows)
    for window in windows:
        fix_eligible(window)
    instrument_ids = {window.instrument_id for window in windows}
    questions: dict[str, Question] = {}
    keys: dict[int, list[str]] = {}
    for item in InstrumentItem.objects.dangerously_unscoped().filter(instrument_id__in=instrument_ids).select_related("instrument").order_by(
            "instrument_id", "number"):
        key = f"{item.instrument_id}:{item.number}"
        questions[key] = Question(key=key, instrument=str(item.instrument), number=item.number, text=item.text,
                                  dimension=item.dimension, reverse=item.reverse,
                                  scale_min=item.instrument.scale_min, scale_max=item.instrument.scale_max)
        keys.setdefault(item.instrument_id, []).append(key)
    root = Cell(key="all", level="all", label=label)
    groups: dict[tuple, Cell] = {}
    institutions: dict[tuple, Cell] = {}
    projects: dict[int, Cell] = {}
    cells: dict[int, Cell] = {}
    for window in sorted(windows, key=lambda w: (w.project.level, w.project.category, w.project.institution_id or 0,
                                                 w.project_id, w.opens_on)):
        project = window.project
        group_key = (project.level, project.category)
        if group_key not in groups:
            groups[group_key] = Cell(key=f"group:{project.level}:{project.category}", level="group",
                                     label=f"{dict(Level.choices).get(project.level, project.level)} · "
                                           f"{dict(ProjectCategory.choices).get(project.category, project.category)}")
            root.children.append(groups[group_key])
        inst_key = (*group_key, project.institution_id or 0)
        if inst_key not in institutions:
            institutions[inst_key] = Cell(key=f"institution:{project.level}:{project.category}:{project.institution_id or 0}",
                                          level="institution",
                                          label=project.institution.name if project.institution else "未指定实施机构")
            groups[group_key].children.append(institutions[inst_key])
        if project.pk not in projects:
            projects[project.pk] = Cell(key=f"project:{project.pk}", level="project", label=project.title,
                                        project_id=project.pk)
            institutions[inst_key].children.append(projects[project.pk])
        cell = _window_cell(window, window.closes_on < today, answers_of.get(window.pk, []), keys)
        projects[project.pk].children.append(cell)
        cells[window.pk] = cell
    _roll_up(root)
    suppress(root)
    return Results(root=root, questions=questions, projects=projects, windows=cells)


def _answers(responses, windows: list[RatingWindow]) -> dict[int, list[dict]]:
    today = _today()
    closed = [window.pk for window in windows if window.closes_on < today]
    found: dict[int, list[dict]] = {}
    for window_id, given in responses.filter(window_id__in=closed).values_list("window_id", "answers"):
        found.setdefault(window_id, []).append(given)
    return found


def results_for(scope: Scope) -> Results:
    """The viewer's drill-down: every rating window of the projects they oversee."""
    windows = list(visible(scope, RatingWindow).filter(project__in=overseen_projects(scope))
                   .select_related("project", "project__institution", "instrument"))
    return build(windows, _answers(visible(scope, RatingResponse), windows), label=scope.label or "全部项目")


def results_everywhere() -> Results:
    """The whole province's tree (the close task: a trainer's rating comes only from a window
    shown there)."""
    windows = list(RatingWindow.objects.dangerously_unscoped().select_related("project", "project__institution",
                                                                            "instrument"))
    return build(windows, _answers(RatingResponse.objects.dangerously_unscoped(), windows))


# --- what a cell shows --------------------------------------------------------------------------


@dataclass
class QuestionResult:
    key: str
    number: int
    text: str
    instrument: str
    dimension: str
    mean: float
    count: int

    @property
    def dimension_label(self) -> str:
        return DIMENSION_LABELS.get(self.dimension, self.dimension)


def question_results(cell: Cell, questions: dict[str, Question]) -> list[QuestionResult]:
    if cell.suppressed or not cell.responses:
        return []
    return [QuestionResult(key=key, number=questions[key].number, text=questions[key].text,
                           instrument=questions[key].instrument, dimension=questions[key].dimension,
                           mean=round(cell.sums[key] / cell.responses, 2), count=cell.responses)
            for key in sorted(cell.measures, key=lambda k: (questions[k].instrument, questions[k].number))]


def dimension_scores(cell: Cell, questions: dict[str, Question]) -> dict[str, float]:
    """Per rating dimension, the score on 0–100 (reverse-keyed items turned; 0 = every answer at the
    scale's bottom, 100 = at its top), so questionnaires on different scales add up."""
    if cell.suppressed or not cell.responses:
        return {}
    totals: dict[str, list[float]] = {}
    for key in cell.measures:
        question = questions[key]
        total = cell.sums[key]
        if question.reverse:
            total = cell.responses * (question.scale_min + question.scale_max) - total
        mean = total / cell.responses
        share = (mean - question.scale_min) / (question.scale_max - question.scale_min)
        totals.setdefault(question.dimension, []).append(share)
    return {dimension: round(100 * sum(values) / len(values), 1) for dimension, values in totals.items()}


def delivery_rating(cell: Cell, questions: dict[str, Question]) -> Decimal | None:
    """A shown window's 授课质量 score on 0–5 (one decimal); None when hidden or without such items."""
    if cell.level != "window" or cell.suppressed:
        return None
    scores = dimension_scores(cell, questions)
    if Dimension.DELIVERY not in scores:
        return None
    return (Decimal(str(scores[Dimension.DELIVERY])) / 20).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def dimension_label(code: str) -> str:
    return DIMENSION_LABELS.get(code, code)


LEVEL_LABELS = {"all": "全部", "group": "层级·类别", "institution": "实施机构", "project": "项目", "window": "评价窗口"}


def export_rows(results: Results) -> list[list]:
    """Every cell of the tree, depth first, as the page shows it: a hidden cell carries only its
    reason, never its counts or scores (suppression is the same in the file as on the page)."""
    dimensions = list(RATING_DIMENSIONS)
    rows: list[list] = []

    def visit(cell: Cell, trail: tuple[str, ...]) -> None:
        path = " › ".join((*trail, cell.label))
        if cell.suppressed:
            rows.append([LEVEL_LABELS.get(cell.level, cell.level), path, "", "", "", *[""] * len(dimensions),
                         cell.reason])
        else:
            scores = dimension_scores(cell, results.questions)
            rate = cell.rate
            rows.append([LEVEL_LABELS.get(cell.level, cell.level), path, cell.responses, cell.eligible,
                         "" if rate is None else float(rate), *[scores.get(code, "") for code in dimensions], ""])
        for child in cell.children:
            visit(child, (*trail, cell.label))

    visit(results.root, ())
    return rows


def export_header() -> list[str]:
    return ["层级", "名称", "应答人数", "应评人数", "应答率", *[dimension_label(code) for code in RATING_DIMENSIONS],
            "未公布原因"]
