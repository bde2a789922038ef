"""Suppression of rating results: the minimums (10 responses, a 50 % response rate, a closed
window) at every drill-down level, and complementary suppression checked by linear algebra on
random trees: no hidden cell is a linear combination of the shown ones."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from evaluation.rating_results import (
    COMPLEMENT,
    COUNT,
    LOW_RATE,
    NOT_CLOSED,
    TOO_FEW,
    Cell,
    _members,
    _roll_up,
    primary_reason,
    suppress,
)

MEASURES = ("1:1", "1:2", "2:1")


def derivable(root: Cell) -> list[tuple[str, str]]:
    """The hidden (cell, measure) pairs that the shown cells determine. Per measure the equations are
    parent = sum of its closed children that have the measure; shown cells are known; a hidden
    cell is determined iff its unit vector lies in the row space of the equations restricted to
    the hidden unknowns."""
    found = []
    cells = list(root.walk())
    for measure in (COUNT, *MEASURES):
        def has(cell, measure=measure):
            return cell.closed and (measure == COUNT or measure in cell.measures)

        unknowns = [cell for cell in cells if has(cell) and cell.suppressed]
        if not unknowns:
            continue
        column = {id(cell): index for index, cell in enumerate(unknowns)}
        rows = []
        for parent in cells:
            if not parent.children or not has(parent):
                continue
            row = np.zeros(len(unknowns))
            if id(parent) in column:
                row[column[id(parent)]] = 1
            for child in _members(parent, measure):
                if id(child) in column:
                    row[column[id(child)]] -= 1
            if row.any():
                rows.append(row)
        if not rows:
            continue
        equations = np.array(rows)
        rank = np.linalg.matrix_rank(equations)
        for cell in unknowns:
            unit = np.zeros(len(unknowns))
            unit[column[id(cell)]] = 1
            if np.linalg.matrix_rank(np.vstack([equations, unit])) == rank:
                found.append((cell.key, measure))
    return found


@st.composite
def trees(draw):
    """All → groups → institutions → projects → windows, with random sizes, response counts,
    eligible trainees, questionnaires (which questions a window has) and open or closed windows."""
    root = Cell(key="all", level="all", label="全部")
    serial = 0
    for g in range(draw(st.integers(1, 3))):
        group = Cell(key=f"g{g}", level="group", label=f"g{g}")
        root.children.append(group)
        for i in range(draw(st.integers(1, 3))):
            institution = Cell(key=f"g{g}i{i}", level="institution", label="i")
            group.children.append(institution)
            for p in range(draw(st.integers(1, 3))):
                project = Cell(key=f"g{g}i{i}p{p}", level="project", label="p")
                institution.children.append(project)
                for _ in range(draw(st.integers(1, 2))):
                    serial += 1
                    closed = draw(st.sampled_from([True, True, True, False]))
                    responses = draw(st.integers(0, 40))
                    eligible = draw(st.integers(responses, responses * 3 + 2))
                    measures = draw(st.sampled_from([{"1:1", "1:2"}, {"2:1"}, {"1:1", "1:2"}]))
                    window = Cell(key=f"w{serial}", level="window", label="w", closed=closed)
                    if closed:
                        window.responses, window.eligible, window.measures = responses, eligible, set(measures)
                        window.sums = {m: draw(st.integers(responses, responses * 5)) for m in measures}
                    project.children.append(window)
    return _roll_up(root)


@settings(max_examples=300, deadline=None)
@given(trees())
def test_no_hidden_cell_can_be_derived_from_the_shown_ones(root):
    suppress(root)
    assert derivable(root) == []
    for cell in root.walk():  # every shown cell meets the minimums
        if not cell.suppressed:
            assert cell.closed and cell.responses >= 10 and cell.responses >= cell.eligible / 2


def _leaf(key, responses, eligible, closed=True, measures=("1:1",)):
    cell = Cell(key=key, level="window", label=key, closed=closed, responses=responses, eligible=eligible,
                measures=set(measures), sums={m: responses * 4 for m in measures})
    return cell


def test_the_checker_finds_a_leak_by_subtraction():
    """A shown parent of 30, a shown child of 21 and a hidden child of 9: 30 − 21 = 9."""
    root = Cell(key="all", level="all", label="全部",
                children=[_leaf("a", 21, 30), _leaf("b", 9, 12)])
    _roll_up(root)
    for cell in root.walk():
        cell.reason = primary_reason(cell)
    assert [cell.reason for cell in root.walk()] == ["", "", TOO_FEW]
    assert ("b", COUNT) in derivable(root) and ("b", "1:1") in derivable(root)
    suppress(root)
    assert [cell.reason for cell in root.walk()] == ["", COMPLEMENT, TOO_FEW]
    assert derivable(root) == []


def test_an_only_child_hidden_hides_its_parent():
    project = Cell(key="p", level="project", label="p", children=[_leaf("w", 9, 10)])
    root = Cell(key="all", level="all", label="全部", children=[project, _leaf("x", 50, 60)])
    _roll_up(root)
    suppress(root)
    reasons = {cell.key: cell.reason for cell in root.walk()}
    assert reasons["w"] == TOO_FEW and reasons["p"] == TOO_FEW
    assert reasons["x"] == COMPLEMENT  # else 59 − 50 = 9 gives p
    assert derivable(root) == []


def test_a_question_only_one_child_has_is_protected_too():
    """Two hidden children hide each other's counts, but if only one has question 2:1 its sum for that
    question would be the parent's: the other questionnaire's child is no cover."""
    root = Cell(key="all", level="all", label="全部", children=[
        _leaf("a", 40, 50, measures=("1:1",)), _leaf("b", 30, 40, measures=("1:1",)),
        _leaf("c", 5, 6, measures=("2:1",)), _leaf("d", 5, 6, measures=("1:1",))])
    _roll_up(root)
    suppress(root)
    reasons = {cell.key: cell.reason for cell in root.walk()}
    assert reasons["c"] == TOO_FEW and reasons["d"] == TOO_FEW
    assert reasons["all"] == COMPLEMENT  # the only way to cover c's sum of question 2:1
    assert derivable(root) == []


def test_reasons():
    assert primary_reason(Cell(key="a", level="window", label="", closed=False, responses=40, eligible=40)) == NOT_CLOSED
    assert primary_reason(Cell(key="a", level="window", label="", closed=True, responses=9, eligible=9)) == TOO_FEW
    assert primary_reason(Cell(key="a", level="window", label="", closed=True, responses=10, eligible=21)) == LOW_RATE
    assert primary_reason(Cell(key="a", level="window", label="", closed=True, responses=10, eligible=20)) == ""
    assert primary_reason(Cell(key="a", level="window", label="", closed=True, responses=10, eligible=0)) == LOW_RATE
