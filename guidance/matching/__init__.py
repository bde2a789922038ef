"""Similar-question matching for the expert guidance teams ("instant answers").

    matcher = get_matcher()
    vectors = matcher.encode(["初中数学作业怎么分层？"])   # (1, d) float32, unit rows
    index = VectorIndex(ids, matrix)                        # one per stage and subject group
    index.search(vectors[0], k=5)                           # [(question id, cosine), …]

See docs/MATCHING.md for the method and its measured accuracy and speed.
"""

from guidance.matching.index import VectorIndex, from_bytes, to_bytes
from guidance.matching.matcher import Matcher, fit_matcher, get_matcher
from guidance.matching.pairs import PairFileError, Pairs, evaluate_pairs, pair_scores, read_pairs


def __getattr__(name: str) -> float:
    # SHOW_THRESHOLD follows the current matcher: a refit changes the scale of its cosines.
    if name == "SHOW_THRESHOLD":
        return get_matcher().show_threshold
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "SHOW_THRESHOLD",
    "Matcher",
    "PairFileError",
    "Pairs",
    "VectorIndex",
    "evaluate_pairs",
    "fit_matcher",
    "from_bytes",
    "get_matcher",
    "pair_scores",
    "read_pairs",
    "to_bytes",
]
