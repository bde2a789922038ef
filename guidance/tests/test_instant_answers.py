"""Instant answers: the answered questions most like the one being typed, of the same stage and
subject, shared by their askers, never naming them; accepting one resolves the question at once."""

import pytest
from django.core.exceptions import ValidationError

from access.scope import scope_for_user
from credits.models import LedgerEntry
from guidance import bank
from guidance.models import Question
from guidance.questions import question_answer, question_ask

ANSWERED = "学生写作文总是流水账，怎样指导他们写出具体生动的细节描写？"
OTHER = "低年级识字教学怎样设计游戏，让学生在玩中记住生字？"


def _answered(teams, text, *, shareable=True):
    question = question_ask(scope=teams.teacher, user=teams.teacher_user, subject="chinese", text=text,
                            shareable=shareable)
    answerer = teams.lead_user if question.assignee_id == teams.lead.pk else teams.expert_user
    question_answer(scope=scope_for_user(answerer), user=answerer, question_id=question.pk,
                    body=f"专家解答：{text[:6]}……")
    return question


def test_the_most_similar_answered_question_comes_first(teams, users):
    writing = _answered(teams, ANSWERED)
    _answered(teams, OTHER)
    question_ask(scope=teams.teacher, user=teams.teacher_user, subject="chinese",
                 text="作文教学中怎样指导学生写出生动具体的细节？还没有人回答")  # unanswered: not a candidate
    found = bank.similar_questions(teams.teacher, stage="primary", subject="chinese",
                                   text="怎么指导学生作文写具体、写生动，不写流水账", min_score=0.0)
    assert [hit.id for hit in found][0] == writing.pk
    assert found[0].answer.startswith("专家解答") and found[0].score > found[-1].score
    assert all(hit.id != writing.pk or "张三" not in hit.text for hit in found)
    # Another subject, or another stage, shares nothing.
    assert bank.similar_questions(teams.teacher, stage="primary", subject="math", text=ANSWERED) == []
    assert bank.similar_questions(teams.teacher, stage="junior", subject="chinese", text=ANSWERED) == []
    # Administrators consult nothing (they read questions of their own jurisdiction instead).
    assert bank.similar_questions(teams.county, stage="primary", subject="chinese", text=ANSWERED) == []


def test_an_administrator_looking_first_leaves_the_teachers_index_whole(teams):
    writing = _answered(teams, ANSWERED)
    assert bank.similar_questions(teams.county, stage="primary", subject="chinese", text=ANSWERED, min_score=0.0) == []
    found = bank.similar_questions(teams.teacher, stage="primary", subject="chinese", text=ANSWERED, min_score=0.0)
    assert [hit.id for hit in found] == [writing.pk]  # the policy told them apart, so did the cache


def test_an_asker_who_does_not_share_is_never_shown(teams, users):
    private = _answered(teams, ANSWERED, shareable=False)
    other_teacher = scope_for_user(users["sibling_teacher_user"])
    found = bank.similar_questions(other_teacher, stage="primary", subject="chinese", text=ANSWERED, min_score=0.0)
    assert private.pk not in [hit.id for hit in found]


def test_the_index_picks_up_questions_answered_after_it_was_built(teams, monkeypatch):
    _answered(teams, OTHER)
    assert bank.similar_questions(teams.teacher, stage="primary", subject="chinese", text=ANSWERED, min_score=0.0)
    later = _answered(teams, ANSWERED)
    monkeypatch.setattr(bank, "REFRESH_SECONDS", -1)
    found = bank.similar_questions(teams.teacher, stage="primary", subject="chinese", text=ANSWERED, min_score=0.0)
    assert found[0].id == later.pk


def test_accepting_an_answer_resolves_at_once_and_earns_no_hours(teams, users):
    writing = _answered(teams, ANSWERED)
    sibling_user = users["sibling_teacher_user"]
    question = question_ask(scope=scope_for_user(sibling_user), user=sibling_user, subject="chinese",
                            text="作文写不具体怎么办？学生总是写流水账", accept_id=writing.pk)
    assert question.state == "resolved" and question.matched_id == writing.pk and question.team_id is None
    assert not LedgerEntry.objects.dangerously_unscoped().filter(source_type="guidance").exists()
    with pytest.raises(ValidationError, match="已答问题"):
        question_ask(scope=teams.teacher, user=teams.teacher_user, subject="chinese", text=OTHER + "再问",
                     accept_id=question.pk)  # a matched question is not itself an answer
    assert Question.objects.dangerously_unscoped().count() == 2  # the refused one was not stored


def test_the_ask_page_shows_similar_answers_before_sending_to_an_expert(teams, client_for):
    writing = _answered(teams, ANSWERED)
    client = client_for(teams.teacher_user)
    page = client.post("/guidance/ask/", {"subject": "chinese", "text": "作文总是写成流水账，怎样指导学生写具体？"})
    assert page.status_code == 200 and "已解答的相似问题" in page.content.decode()
    assert f'value="{writing.pk}"' in page.content.decode()
    before = Question.objects.dangerously_unscoped().count()
    sent = client.post("/guidance/ask/", {"subject": "chinese", "text": "作文总是写成流水账，怎样指导学生写具体？",
                                          "confirm": "1"})
    assert sent.status_code == 302 and Question.objects.dangerously_unscoped().count() == before + 1
    accepted = client.post("/guidance/ask/", {"subject": "chinese", "text": "作文写具体的方法有哪些？流水账怎么改？",
                                              "accept": str(writing.pk)})
    assert accepted.status_code == 302
    newest = Question.objects.dangerously_unscoped().latest("id")
    assert newest.matched_id == writing.pk
    fragment = client.get("/guidance/similar/", {"subject": "chinese", "text": "流水账作文怎样写具体"})
    assert fragment.status_code == 200 and str(writing.pk) in fragment.content.decode()
    consult = client_for(teams.sibling_expert_user).get(f"/guidance/answered/{writing.pk}/")
    assert consult.status_code == 200 and "张三" not in consult.content.decode()
    assert "提问人不公开" in consult.content.decode()


def test_vectors_of_an_older_matcher_are_skipped_until_reindexed(teams):
    import numpy as np
    from django.core.management import call_command

    from guidance import matching

    writing = _answered(teams, ANSWERED)
    old = np.zeros(128, dtype=np.float32)
    old[0] = 1.0
    Question.objects.dangerously_unscoped().filter(pk=writing.pk).update(vector=matching.to_bytes(old))
    bank.forget()
    assert bank.similar_questions(teams.teacher, stage="primary", subject="chinese", text=ANSWERED,
                                  min_score=0.0) == []  # a 128-d vector beside 384-d ones: left out, no error
    call_command("questions", "reindex")
    found = bank.similar_questions(teams.teacher, stage="primary", subject="chinese", text=ANSWERED, min_score=0.0)
    assert [hit.id for hit in found] == [writing.pk] and found[0].score > 0.99
