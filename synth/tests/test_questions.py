"""Synthetic questions to the expert teams: deterministic, varied paraphrases of recurring
themes for every stage × subject a teacher can have, with answers and labelled pairs."""

import random
from collections import Counter

import pytest

from synth.generate import SUBJECTS
from synth.questions import (
    INDIVIDUAL,
    MAX_LENGTH,
    MIN_LENGTH,
    generate_questions,
    paraphrase_pairs,
    stage_subjects,
    themes_for,
)


def test_the_same_seed_gives_the_same_questions():
    first = generate_questions(random.Random(5), "junior", "math", 50, individual_share=0.1)
    assert first == generate_questions(random.Random(5), "junior", "math", 50, individual_share=0.1)
    assert first != generate_questions(random.Random(6), "junior", "math", 50, individual_share=0.1)
    assert paraphrase_pairs(random.Random(5), 20) == paraphrase_pairs(random.Random(5), 20)


def test_every_stage_and_subject_of_the_teachers_has_themes_of_its_own():
    assert {(stage, code) for stage, table in SUBJECTS.items() for code, _ in table} == set(stage_subjects())
    for stage, subject in stage_subjects():
        themes = themes_for(stage, subject)
        assert len(themes) >= 5, (stage, subject)
        assert any(t.subjects for t in themes), (stage, subject)  # not only the cross-subject ones
        questions = generate_questions(random.Random(stage + subject), stage, subject, 40)
        assert {q.stage for q in questions} == {stage} and {q.subject for q in questions} == {subject}
        assert {q.theme for q in questions} <= {t.key for t in themes}
    with pytest.raises(ValueError):
        themes_for("kindergarten", "physics")


def test_questions_on_one_theme_are_paraphrases_not_copies():
    questions = generate_questions(random.Random(1), "junior", "math", 3000)
    by_theme = Counter(q.theme for q in questions)
    theme, count = by_theme.most_common(1)[0]
    assert count >= 200 and len(by_theme) >= 10  # recurring themes, long-tailed
    texts = [q.text for q in questions if q.theme == theme][:200]
    assert len(set(texts)) >= 190  # duplicates are rare
    assert len({len(t) for t in texts}) >= 25
    assert any(t.startswith(("我带", "我是", "我今年")) for t in texts)  # some with the teacher's context
    lengths = [len(q.text) for q in questions]
    assert MIN_LENGTH <= min(lengths) and max(lengths) <= MAX_LENGTH


def test_answers_and_one_off_questions():
    questions = generate_questions(random.Random(2), "primary", "chinese", 400, individual_share=0.2)
    one_off = [q for q in questions if q.theme == INDIVIDUAL]
    assert 40 <= len(one_off) <= 120
    assert len({q.text for q in one_off}) >= 0.9 * len(one_off)
    themed = [q for q in questions if q.theme != INDIVIDUAL]
    assert all(20 <= len(q.answer) <= 400 and q.answer.endswith("。") for q in themed)
    assert len({q.answer for q in themed}) > len({q.theme for q in themed})  # answers vary too


def test_paraphrase_pairs_are_balanced_with_hard_negatives():
    pairs = paraphrase_pairs(random.Random(3), 400)
    assert len(pairs) == 400 and sum(label for *_, label in pairs) == 200
    assert all(a != b for a, b, _ in pairs)
    assert all(MIN_LENGTH <= len(a) <= MAX_LENGTH and MIN_LENGTH <= len(b) <= MAX_LENGTH for a, b, _ in pairs)


def test_a_hundred_thousand_questions_take_seconds():
    import time

    started = time.perf_counter()
    rng = random.Random(4)
    total = sum(len(generate_questions(rng, stage, subject, 400)) for stage, subject in stage_subjects())
    assert total == 400 * len(stage_subjects())
    assert time.perf_counter() - started < 3  # 20,000 here; 100,000 in about 5 s
