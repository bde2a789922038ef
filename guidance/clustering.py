"""Common problems among teachers' questions: groups of questions on one theme (共性问题),
each described by a few words, for the expert team to address offline.

Method, and why:

1. Words. Each question is cut by jieba with the course search's education dictionary
   (learning/search_words.txt keeps 大单元教学, 双减, 家校共育 … whole). Single characters,
   numbers and the words of asking (请问, 怎么办, 谢谢, 老师, 专家 …) and of the asker's own
   situation (初二, 刚入职, 乡镇 …) are dropped: questions on different themes share them, so
   they join questions that have nothing else in common.
2. TF-IDF (sublinear term frequency, words in at least two questions), rows of unit length.
   Questions are short and their words are the signal; an LSA projection (TruncatedSVD) blurred
   the themes in trials on the synthetic data (NMI about 0.69 against 0.81), so there is none.
3. A k-nearest-neighbour graph (k = 15) on cosine similarity, edges below a floor dropped, so a
   question like no other keeps no edge.
4. Leiden communities on that graph (igraph, modularity, resolution 1). A theme is not a
   dense ball: it is many small groups of near-paraphrases (one topic word, one difficulty)
   linked to each other by the words they share. Density clustering (HDBSCAN) kept those
   groups apart (hundreds of clusters, NMI 0.45-0.6 in trials); k-means needs the number of
   themes and scored lower even when given it (about 0.7). Community detection joins linked groups and finds the number itself.
5. Noise: a question whose similarity to its community's centroid is low, and communities
   smaller than `min_cluster_size`, are left out: 个性问题, answered online, not forced into a
   common problem.
6. Description: a cluster's keywords are its words with the highest class TF-IDF (frequency in
   the cluster × inverse frequency over all questions); its examples the members nearest the
   centroid.

Deterministic: the same texts give the same clusters (igraph's random numbers are seeded for
the call and its default source restored after; that source is process-wide, so two threads
must not cluster at once — Celery's workers are processes). 20,000 questions take about 9 s on
2 cores (bench/guidance_clustering.py), a third of it jieba.
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

WORDS_FILE = Path(__file__).resolve().parent.parent / "learning" / "search_words.txt"
NEIGHBOURS = 15
EDGE_FLOOR = 0.1  # cosine similarity below which two questions are not linked at all
MEMBER_FLOOR = 0.2  # cosine similarity to the centroid below which a member is noise
RANDOM_STATE = 0
EXAMPLES = 3
MAX_KEYWORDS = 6
CHUNK = 1024  # rows of the similarity matrix held at once (CHUNK × n float32)

# Words of asking and of the asker's situation: common to questions on every theme.
STOPWORDS = frozenset("""
请问 请教 怎么 怎么办 怎样 如何 什么 哪里 哪些 为什么 是否 是不是 有没有 能不能 可不可以 要不要 应该 到底 究竟
老师 各位 专家 谢谢 感谢 麻烦 指点 指导 求助 建议 办法 方法 做法 思路 问题 情况 困惑 困难 希望 盼复 回复 有空 一下
具体 可操作 资料 推荐 相关 借鉴 案例 入手 落实 方面 关于 比较 还是 已经 可以 这个 那个 这种 那种 一个 一些 遇到
需要 知道 不知 不知道 这样 那样 时候 现在 最近 今年 去年 这学期 学期 开学 以后 之前 之后 总是 经常 一直 特别 非常
我们 你们 他们 自己 大家 这是 就是 但是 而且 所以 因为 如果 另外 然后 还有 没有 不是 不会 不能 觉得 感觉 效果 好的
一名 作为 刚入职 入职 十几年 头一次 第一次 两个 几个 班主任 教研组 教研 学校 年级 城区 乡镇 县城 农村 山区 城乡 接合部
一次 不要 哪个 哪天 一个班 上次 下次 新接 刚入 教了
一年级 二年级 三年级 四年级 五年级 六年级 七年级 八年级 九年级 初一 初二 初三 高一 高二 高三 小班 中班 大班
""".split())
_WORD = re.compile(r"[\u4e00-\u9fffA-Za-z]")


@dataclass
class Cluster:
    members: list[int]  # indices into the texts, ascending
    keywords: list[str]
    examples: list[int]  # the members nearest the centroid, nearest first
    size: int = field(init=False)

    def __post_init__(self) -> None:
        self.size = len(self.members)


@lru_cache(maxsize=1)
def _tokenizer():
    """jieba with the course search's education dictionary, an instance of its own."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    tokenizer.load_userdict(str(WORDS_FILE))
    return tokenizer


def question_words(text: str) -> list[str]:
    """The words of a question that can tell its theme (see STOPWORDS)."""
    return [
        word for word in _tokenizer().lcut(text, HMM=False)
        if len(word) > 1 and _WORD.search(word) and word not in STOPWORDS
    ]


def _nearest_neighbours(vectors: sp.csr_matrix, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows, columns and cosine similarities of each question's k most similar others (more
    when several tie with the k-th: ties are kept together, whichever order they come in), at
    least EDGE_FLOOR similar."""
    n = vectors.shape[0]
    k = min(k, n - 1)
    rows, columns, similarities = [], [], []
    transposed = vectors.T.tocsc()
    for start in range(0, n, CHUNK):
        block = (vectors[start:start + CHUNK] @ transposed).toarray()
        block[np.arange(block.shape[0]), start + np.arange(block.shape[0])] = -1.0  # not itself
        # The k-th largest value by partition, not argpartition: many equal similarities (the
        # zeros, near-duplicates) make argpartition several times slower.
        kth = -np.partition(-block, k - 1, axis=1)[:, k - 1]
        row, column = np.nonzero(block >= np.maximum(kth, EDGE_FLOOR)[:, None])
        rows.append(row + start)
        columns.append(column)
        similarities.append(block[row, column])
    return np.concatenate(rows), np.concatenate(columns), np.concatenate(similarities)


@contextmanager
def _seeded_igraph(seed: int) -> Iterator[None]:
    import igraph

    igraph.set_random_number_generator(random.Random(seed))
    try:
        yield
    finally:
        igraph.set_random_number_generator(random)  # igraph's default source


def _communities(vectors: sp.csr_matrix) -> np.ndarray:
    """A community label per question (Leiden on the k-nearest-neighbour graph)."""
    import igraph

    n = vectors.shape[0]
    rows, columns, similarities = _nearest_neighbours(vectors, NEIGHBOURS)
    weights = sp.csr_matrix((similarities, (rows, columns)), shape=(n, n))
    weights = weights.maximum(weights.T).tocoo()  # undirected: an edge if either lists the other
    upper = weights.row < weights.col
    edges = np.column_stack([weights.row[upper], weights.col[upper]])
    graph = igraph.Graph(n=n, edges=edges.tolist(), edge_attrs={"weight": weights.data[upper].tolist()})
    with _seeded_igraph(RANDOM_STATE):
        partition = graph.community_leiden(objective_function="modularity", weights="weight",
                                           resolution=1.0, n_iterations=-1)
    return np.asarray(partition.membership)


def _keywords(words: list[list[str]], members: np.ndarray, document_frequency: dict[str, int],
              n: int) -> list[str]:
    counts: dict[str, int] = {}
    for index in members:
        for word in set(words[index]):
            counts[word] = counts.get(word, 0) + 1
    # Class TF-IDF: frequent in the cluster, rare elsewhere; ties by the word, for determinism.
    scored = sorted(counts, key=lambda w: (-counts[w] * np.log(n / document_frequency[w]), w))
    floor = max(2, len(members) // 10)  # a keyword describes a good share of the members
    return [word for word in scored if counts[word] >= floor][:MAX_KEYWORDS] or scored[:3]


def cluster_questions(
    texts: Sequence[str], *, min_cluster_size: int = 5, max_clusters: int | None = None
) -> list[Cluster]:
    """Clusters of questions on a common theme, largest first (ties: the earliest question
    first); questions in no cluster are left out. `max_clusters` keeps the largest."""
    n = len(texts)
    if n < max(min_cluster_size, 2):
        return []
    words = [question_words(text) for text in texts]
    try:
        vectorizer = TfidfVectorizer(analyzer=lambda words: words, min_df=2, sublinear_tf=True, dtype=np.float32)
        vectors = normalize(vectorizer.fit_transform(words)).tocsr()
    except ValueError:  # no word occurs twice: nothing is common
        return []
    labels = _communities(vectors)
    document_frequency: dict[str, int] = {}
    for question in words:
        for word in set(question):
            document_frequency[word] = document_frequency.get(word, 0) + 1
    clusters = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        if len(members) < min_cluster_size:
            continue
        centroid = normalize(np.asarray(vectors[members].mean(axis=0)))[0]
        closeness = vectors[members] @ centroid
        kept = closeness >= MEMBER_FLOOR
        members, closeness = members[kept], closeness[kept]
        if len(members) < min_cluster_size:
            continue
        nearest = members[np.argsort(-closeness, kind="stable")[:EXAMPLES]]
        clusters.append(Cluster(
            members=members.tolist(), examples=nearest.tolist(),
            keywords=_keywords(words, members, document_frequency, n),
        ))
    clusters.sort(key=lambda c: (-c.size, c.members[0]))
    return clusters[:max_clusters] if max_clusters is not None else clusters
