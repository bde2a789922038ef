"""Common-problem clustering: planted themes come back as clusters, described by their own
words; questions unlike the others are left out; small and empty inputs give nothing."""

import random
from collections import Counter

import numpy as np
import pytest
from sklearn.metrics import normalized_mutual_info_score

from guidance.clustering import cluster_questions, question_words
from synth.questions import generate_questions

UNRELATED = [
    "食堂今天的红烧肉太咸了", "明天下午停水吗", "停车场的道闸坏了找谁修", "周末去爬嵩山有人一起吗",
    "有没有人知道快递柜的取件码在哪里看", "手机充电器落在三楼会议室了", "校门口新开的面馆好吃吗",
    "空调遥控器没电池了", "谁有多余的雨伞借我一把", "今年的体检在哪家医院做",
]


@pytest.fixture(scope="module")
def questions():
    rng = random.Random(11)
    return generate_questions(rng, "junior", "math", 250) + generate_questions(rng, "primary", "chinese", 250)


@pytest.fixture(scope="module")
def clusters(questions):
    return cluster_questions([q.text for q in questions] + UNRELATED)


def labels_of(clusters, n):
    predicted = np.full(n, -1)
    for label, cluster in enumerate(clusters):
        predicted[cluster.members] = label
    return predicted


def test_planted_themes_come_back(questions, clusters):
    predicted = labels_of(clusters, len(questions) + len(UNRELATED))[: len(questions)]
    assert normalized_mutual_info_score([q.theme for q in questions], predicted) >= 0.65
    assert np.mean(predicted >= 0) >= 0.8  # most questions are on a common theme
    sizes = [c.size for c in clusters]
    assert sizes == sorted(sizes, reverse=True) and min(sizes) >= 5
    assert all(c.size == len(c.members) == len(set(c.members)) for c in clusters)


def test_unrelated_questions_are_left_out(questions, clusters):
    clustered = {i for c in clusters for i in c.members}
    assert not clustered & set(range(len(questions), len(questions) + len(UNRELATED)))


def test_keywords_are_words_of_the_members_and_examples_central(questions, clusters):
    texts = [q.text for q in questions] + UNRELATED
    for cluster in clusters:
        assert 1 <= len(cluster.keywords) <= 6 and len(set(cluster.keywords)) == len(cluster.keywords)
        member_words = {w for i in cluster.members for w in question_words(texts[i])}
        assert set(cluster.keywords) <= member_words
        assert all(len(word) >= 2 for word in cluster.keywords)
        assert len(cluster.examples) == 3 and set(cluster.examples) <= set(cluster.members)
    # a cluster is mostly one theme
    majority = sum(max(Counter(questions[i].theme for i in c.members).values()) for c in clusters)
    assert majority >= 0.75 * sum(c.size for c in clusters)


def test_deterministic_and_capped(questions, clusters):
    texts = [q.text for q in questions] + UNRELATED
    assert cluster_questions(texts) == clusters
    capped = cluster_questions(texts, max_clusters=3)
    assert capped == clusters[:3]
    larger = cluster_questions(texts, min_cluster_size=30)
    assert larger and all(c.size >= 30 for c in larger)


def test_empty_and_small_inputs_give_no_clusters():
    assert cluster_questions([]) == []
    assert cluster_questions(["函数概念怎么教？"] * 4) == []  # fewer than min_cluster_size
    assert cluster_questions(["函数概念怎么教？"] * 6) != []  # the same question six times is common
    assert cluster_questions(UNRELATED) == []  # nothing in common
    assert cluster_questions(["", "？？", "!!", "。", "……"], min_cluster_size=2) == []
