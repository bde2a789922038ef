"""The recommender: the offline protocol by hand, the log reader's edge cases, the command's
output, and the serving engine's promises (seen items never ranked, reasons from the user's
own history, the same answer every run)."""

import io
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from django.core.management import call_command
from django.core.management.base import CommandError
from hypothesis import given, settings
from hypothesis import strategies as st

from learning.recommend.baselines import als_ranker, popularity_ranker
from learning.recommend.evaluation import evaluate_log
from learning.recommend.fitting import weighted_histories
from learning.recommend.interactions import (
    InteractionFileError,
    Interactions,
    read_interactions,
    read_interactions_from,
)
from learning.recommend.model import NeighbourModel, RankerParams
from learning.recommend.protocol import ranking_metrics, temporal_split
from synth.histories import CourseProfile, TeacherProfile, generate_histories

ROOT = Path(__file__).resolve().parents[2]

# Twenty events at t = 1…20: the 80th percentile is 16.2, so t = 17…20 are the test period.
HAND_LOG = [
    ("u1", "a", 1), ("u1", "b", 2), ("u2", "a", 3), ("u2", "c", 4), ("u3", "b", 5), ("u3", "c", 6),
    ("u4", "a", 7), ("u4", "d", 8), ("u5", "b", 9), ("u5", "d", 10), ("u2", "b", 11), ("u3", "a", 12),
    ("u4", "b", 13), ("u5", "a", 14), ("u1", "a", 15), ("u2", "a", 16),
    ("u1", "c", 17),  # kept: known user, known item, new to u1
    ("u1", "a", 18),  # dropped: u1 had a in training
    ("stranger", "a", 19),  # dropped: user unseen in training
    ("u2", "brand-new", 20),  # dropped: item unseen in training
]


def hand_log() -> Interactions:
    users, items, times = zip(*HAND_LOG, strict=True)
    return Interactions.from_events(users, items, times)


def test_the_split_takes_events_after_the_80th_percentile_and_drops_what_cannot_be_judged():
    log = hand_log()
    split = temporal_split(log)
    assert split.cutoff == pytest.approx(16.2)
    assert len(split.train) == 16 and split.n_test_events == 1
    assert split.train.n_users == 5 and split.train.n_items == 4  # a, b, c, d
    (user,) = split.test_users
    assert log.user_ids[np.unique(log.users[log.timestamps <= 16])][user] == "u1"
    assert [log.item_ids[np.unique(log.items[log.timestamps <= 16])][i] for i in split.test_items[0]] == ["c"]


def test_ndcg_and_recall_by_hand():
    # User 0 wants {2, 3} and gets [2, 9, 3]; user 1 wants {4} and gets [7, 8, 9].
    recommended = np.array([[2, 9, 3], [7, 8, 9]])
    relevant = [np.array([2, 3]), np.array([4])]
    result = ranking_metrics(recommended, relevant, 3, n_items=10)
    ndcg_user0 = (1 + 1 / math.log2(4)) / (1 + 1 / math.log2(3))
    assert result["ndcg@3"] == pytest.approx(ndcg_user0 / 2, abs=1e-6)
    assert result["recall@3"] == pytest.approx(0.5)  # (2/2 + 0/1) / 2
    assert result["coverage"] == pytest.approx(5 / 10)  # 2, 3, 7, 8, 9
    # recall divides by min(|T|, k): five relevant items, k = 2, both hits → 1.0
    assert ranking_metrics(np.array([[0, 1]]), [np.arange(5)], 2, 5)["recall@2"] == 1.0


def test_popularity_counts_training_events_and_skips_what_the_user_has():
    split = temporal_split(hand_log())
    ranked = popularity_ranker(split.train, split.test_users, 3)
    # Training counts: a 6, b 5, c 2, d 2; u1 had a and b, so c then d (tie → lower index), then nothing.
    item_ids = hand_log().item_ids[np.unique(hand_log().items[hand_log().timestamps <= 16])]
    assert [item_ids[i] if i >= 0 else None for i in ranked[0]] == ["c", "d", None]


# ---- the log reader ------------------------------------------------------------------------


def read(text: str) -> Interactions:
    return read_interactions_from(io.StringIO(text))


def test_reader_tolerates_a_bom_blank_lines_extra_columns_and_any_column_order(tmp_path):
    path = tmp_path / "log.csv"
    path.write_bytes("\ufefftimestamp,note,item,user\n\n2025-09-01T08:00:00Z,x,c1,t1\n\n1756713600,,c2,t1\n"
                     .encode())
    log = read_interactions(path)
    assert list(log.user_ids) == ["t1"] and list(log.item_ids) == ["c1", "c2"]
    assert log.timestamps.tolist() == [1756713600.0, 1756713600.0]


@pytest.mark.parametrize("moment, seconds", [
    ("2025-09-01", 1756684800.0), ("2025-09-01 08:00:00", 1756713600.0), ("2025-09-01T16:00:00+08:00", 1756713600.0),
    ("1756713600.5", 1756713600.5), ("42", 42.0),
])
def test_timestamps_are_iso_or_epoch_and_naive_means_utc(moment, seconds):
    assert read(f"user,item,timestamp\nu,i,{moment}\n").timestamps[0] == seconds


def test_weights_are_read_when_the_column_is_there():
    assert read("user,item,timestamp,weight\nu,i,1,2.5\n").weights.tolist() == [2.5]
    assert read("user,item,timestamp\nu,i,1\n").weights.tolist() == [1.0]


@pytest.mark.parametrize("text, message", [
    ("", "文件为空"),
    ("\n\n", "文件为空"),
    ("user,item,timestamp\n", "没有记录"),
    ("user,item\nu,i\n", "缺少列 timestamp"),
    ("user,item,timestamp,user\nu,i,1,u\n", "重复"),
    ("user,item,timestamp\nu,i,1\nu,i\n", "第 3 行有 2 列"),
    ("user,item,timestamp\nu,,1\n", "第 2 行缺少 user 或 item"),
    ("user,item,timestamp\nu,i,yesterday\n", "第 2 行"),
    ("user,item,timestamp\nu,i,nan\n", "有限"),
    ("user,item,timestamp,weight\nu,i,1,-1\n", "正数"),
    ("user,item,timestamp,weight\nu,i,1,lots\n", "不是数字"),
])
def test_malformed_logs_are_refused_with_the_reason(text, message):
    with pytest.raises(InteractionFileError, match=message):
        read(text)


def test_a_file_that_is_not_utf8_or_not_there_is_refused(tmp_path):
    path = tmp_path / "gbk.csv"
    path.write_bytes("user,item,timestamp\n老师,课,1\n".encode("gbk"))
    with pytest.raises(InteractionFileError, match="UTF-8"):
        read_interactions(path)
    with pytest.raises(InteractionFileError, match="不存在"):
        read_interactions(tmp_path / "missing.csv")


# ---- the engine --------------------------------------------------------------------------


def small_model(params: RankerParams | None = None) -> tuple[NeighbourModel, np.ndarray, np.ndarray, np.ndarray]:
    """Two clusters of items (0-4, 5-9) that users take together."""
    random = np.random.default_rng(3)
    users, items, times = [], [], []
    for user in range(200):
        cluster = user % 2
        for step, item in enumerate(random.choice(5, size=3, replace=False) + 5 * cluster):
            users.append(user)
            items.append(item)
            times.append(user * 10 + step)
    users_a, items_a, times_a = np.array(users), np.array(items), np.array(times, dtype=float)
    model = NeighbourModel.fit(users_a, items_a, times_a, 200, 10, params or RankerParams(l2=10.0, neighbours=5))
    return model, users_a, items_a, times_a


def test_on_demand_ranking_stays_in_the_users_cluster_and_names_a_course_of_theirs():
    model, *_ = small_model()
    recommendations = model.recommend(np.array([0, 1]), np.array([1.0, 2.0]), k=3)
    assert len(recommendations) == 3
    for recommendation in recommendations:
        assert recommendation.item in {2, 3, 4}
        assert recommendation.because in {0, 1}
    assert [r.score for r in recommendations] == sorted((r.score for r in recommendations), reverse=True)


def test_excluded_items_are_never_ranked():
    model, *_ = small_model()
    ranked = {r.item for r in model.recommend(np.array([0]), k=10, exclude=np.array([2, 3]))}
    assert not ranked & {0, 2, 3}


def test_batch_and_on_demand_agree_on_items_and_reasons():
    model, users, items, times = small_model()
    weighted = weighted_histories(users, items, times, 200, 10, None)
    batch, because = model.recommend_batch(weighted[:6], 4, chunk=4, explain=True)
    for user in range(6):
        mine = users == user
        single = model.recommend(items[mine], times[mine], k=4)
        assert [r.item for r in single] == [i for i in batch[user] if i >= 0]
        assert [r.because for r in single] == [b for b, i in zip(because[user], batch[user], strict=True) if i >= 0]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 7), st.integers(0, 11), st.integers(0, 50)), min_size=1, max_size=60),
       st.sampled_from([None, 5.0]), st.sampled_from([0.0, 1.0]))
def test_nothing_a_user_has_is_ever_recommended(events, half_life, trend_weight):
    users, items, times = (np.array(column) for column in zip(*events, strict=True))
    params = RankerParams(l2=5.0, neighbours=4, half_life=half_life, trend_weight=trend_weight, trend_window=20.0)
    model = NeighbourModel.fit(users, items, times.astype(float), 8, 12, params)
    weighted = weighted_histories(users, items, times.astype(float), 8, 12, half_life)
    batch, because = model.recommend_batch(weighted, 5, chunk=3, explain=True)
    for user in range(8):
        had = set(items[users == user].tolist())
        assert not had & set(batch[user].tolist())
        assert set(because[user][because[user] >= 0].tolist()) <= had
        on_demand = model.recommend(items[users == user], times[users == user].astype(float), k=5)
        assert not had & {r.item for r in on_demand}


def test_baselines_never_recommend_what_the_user_had():
    split = temporal_split(hand_log())
    for ranker in (popularity_ranker, als_ranker(seed=1)):
        ranked = ranker(split.train, np.arange(split.train.n_users), 4)
        for user in range(split.train.n_users):
            assert not set(split.train.seen[user].indices) & set(ranked[user].tolist())


# ---- the command and the synthetic province's histories ----------------------------------------


@pytest.fixture(scope="module")
def province_log(tmp_path_factory) -> Path:
    random = np.random.default_rng(5)
    stages, subjects = ["primary", "junior", "senior"], ["chinese", "math", "english", "physics"]
    topics = [f"topic-{n}" for n in range(12)]
    teachers = [TeacherProfile(f"t{n}", stages[n % 3], subjects[(n // 3) % 4]) for n in range(1500)]
    courses = [CourseProfile(f"c{n}", (stages[random.integers(3)],), (subjects[random.integers(4)],),
                             tuple(random.choice(topics, 2, replace=False))) for n in range(300)]
    events = generate_histories(teachers, courses, seed=11)
    path = tmp_path_factory.mktemp("recommend") / "histories.csv"
    path.write_text("user,item,timestamp\n" + "".join(f"{u},{i},{t}\n" for u, i, t in events))
    return path


def test_synthetic_histories_carry_group_tastes_long_tails_and_drift(province_log):
    log = read_interactions(province_log)
    assert len(log) > 8000
    group = {user: (int(user[1:]) % 3, (int(user[1:]) // 3) % 4) for user in log.user_ids}
    taken: dict[int, set[int]] = {}
    for user, item in zip(log.users, log.items, strict=True):
        taken.setdefault(int(user), set()).add(int(item))
    random = np.random.default_rng(0)
    pairs = random.choice(len(log.user_ids), size=(4000, 2))
    same, other = [], []
    for a, b in pairs:
        if a == b:
            continue
        overlap = len(taken[a] & taken[b]) / max(len(taken[a] | taken[b]), 1)
        (same if group[log.user_ids[a]] == group[log.user_ids[b]] else other).append(overlap)
    assert np.mean(same) > 3 * np.mean(other)
    counts = np.sort(np.bincount(log.items))[::-1]
    assert counts[: len(counts) // 10].sum() > 0.3 * counts.sum()  # the top tenth of courses: over 30 %


def test_evaluate_prints_one_json_object_and_beats_popularity_on_the_synthetic_province(province_log):
    out = io.StringIO()
    call_command("recommend", "evaluate", "--interactions", str(province_log), stdout=out)
    result = json.loads(out.getvalue())
    for key in ("ndcg@10", "recall@10", "coverage", "n_users", "n_items", "n_train", "n_test", "timings"):
        assert key in result
    for baseline in ("popularity", "als"):
        assert {"ndcg@10", "recall@10", "coverage"} <= set(result[baseline])
    assert result["ndcg@10"] > 1.5 * result["popularity"]["ndcg@10"]
    assert result["ndcg@10"] > result["als"]["ndcg@10"]


def test_evaluation_is_the_same_every_run(province_log):
    log = read_interactions(province_log)

    def without_timings(result: dict) -> dict:
        return {key: (without_timings(value) if isinstance(value, dict) else value)
                for key, value in result.items() if key != "timings"}

    assert without_timings(evaluate_log(log, seed=4)) == without_timings(evaluate_log(log, seed=4))


def test_a_malformed_file_fails_the_command_with_its_reason(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("user,item\nu,i\n")
    with pytest.raises(CommandError, match="缺少列 timestamp"):
        call_command("recommend", "evaluate", "--interactions", str(path))
    finished = subprocess.run([sys.executable, str(ROOT / "manage.py"), "recommend", "evaluate", "--interactions",
                               str(path)], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert finished.returncode != 0 and "缺少列 timestamp" in finished.stderr and finished.stdout == ""


def test_fading_co_occurrences_follow_drifting_tastes():
    # Early on 30 learners took courses 0 and 1 together; lately 20 learners take 0 with 2.
    users, items, times = [], [], []
    for user in range(50):
        partner, moment = (1, 10.0 + user) if user < 30 else (2, 1000.0 + user)
        users += [user, user]
        items += [0, partner]
        times += [moment, moment]
    arrays = np.array(users), np.array(items), np.array(times)
    steady = NeighbourModel.fit(*arrays, 50, 3, RankerParams(l2=1.0, neighbours=2))
    fading = NeighbourModel.fit(*arrays, 50, 3, RankerParams(l2=1.0, neighbours=2, fit_half_life=100.0))
    assert steady.recommend(np.array([0]), k=1)[0].item == 1
    assert fading.recommend(np.array([0]), k=1)[0].item == 2


def test_the_batch_rules_out_what_the_caller_excludes_per_user_and_for_everyone():
    model, users, items, times = small_model()
    weighted = weighted_histories(users, items, times, 200, 10, None)[:4]
    excluded = sp.csr_matrix((np.ones(4), (np.arange(4), [2, 3, 7, 8])), shape=(4, 10))
    best, _ = model.recommend_batch(weighted, 10, excluded=excluded, closed_items=np.array([4, 9]))
    for user in range(4):
        ranked = set(best[user][best[user] >= 0].tolist())
        assert not ranked & ({4, 9, excluded[user].indices[0]} | set(weighted[user].indices.tolist()))
        assert len(ranked) == 10 - len({4, 9, excluded[user].indices[0]} | set(weighted[user].indices.tolist()))


def test_a_cell_over_the_csv_limit_or_a_directory_is_refused_not_a_traceback(tmp_path):
    path = tmp_path / "huge.csv"
    path.write_text("user,item,timestamp\n" + "u," + "x" * 200_000 + ",1\n", encoding="utf-8")
    with pytest.raises(InteractionFileError, match="CSV"):
        read_interactions(path)
    with pytest.raises(InteractionFileError, match="无法读取"):
        read_interactions(tmp_path)


def test_ease_solves_in_the_sums_memory_and_matches_the_textbook_formula():
    """B = −P / diag(P) with P = (G + λI)⁻¹, zero diagonal, scaled to a largest weight of 1; with
    `overwrite` the inverse is taken in the Gram matrix's own memory (no n × n copies at 20 k)."""
    from learning.recommend.fitting import ease_weights

    rng = np.random.default_rng(3)
    counts = rng.poisson(0.3, size=(400, 60)).astype(np.float32)
    gram = counts.T @ counts
    precision = np.linalg.inv(gram.astype(np.float64) + 5.0 * np.eye(60))
    expected = -precision / np.diag(precision)[None, :]
    np.fill_diagonal(expected, 0.0)
    expected /= expected.max()
    assert np.allclose(ease_weights(gram, 5.0), expected, atol=1e-4)
    solved = ease_weights(gram, 5.0, overwrite=True)
    assert np.shares_memory(solved, gram) and solved.flags.c_contiguous
    assert np.allclose(solved, expected, atol=1e-4)
