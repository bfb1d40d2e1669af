"""How alike two problem descriptions are, in Chinese of either script.

The same problem comes back in different words and scripts: "人才短缺", "缺人才的问题",
"人才短缺問題依舊沒有解決". Detection compares texts by their characters, not by meaning:

1. :func:`text_key` normalises a text once (stored with the issue): NFKC (full-width letters and
   digits become ASCII), Traditional → Simplified (OpenCC ``t2s``), latin lower-cased; then
   everything that is not a letter or a digit, and a small set of stopwords (:data:`STOP_WORDS`
   such as 企业, 问题, 希望, and function characters :data:`STOP_CHARS` such as 的, 了, 是),
   become segment breaks, so no bigram spans a removed word.
2. :func:`features` is the set of character unigrams and bigrams of each segment. Unigrams carry
   short texts ("缺人才" shares no bigram with "人才短缺" but shares 人, 才, 缺); bigrams carry
   word order.
3. :func:`dice` compares two feature sets: ``2|A∩B| / (|A|+|B|)``, from 0 (nothing shared) to
   1 (same features).

What the scores look like on the seeds' phrasings (tested in ``test_similarity.py``): the same
text in the other script 1.0; "人才短缺" vs "缺人才的问题" 0.67, vs "人才紧缺问题突出" 0.47, vs
"招不到技术人才" 0.30; "玉川大道沿线停车难" vs "玉川大道停车位不足" 0.59, vs "济渎路停车难" 0.36;
unrelated problems ("融资难融资贵" vs "停车难", "人才短缺" vs "玉川大道停车难") 0.0–0.2. The default
thresholds (:class:`projections.repeat_visits.rules.Thresholds`) are 0.35 for a recurring problem
(which also needs the same enterprise and the same category) and 0.45 for a common problem
(across enterprises of one area: the same road, not just any parking trouble). They group the
rephrasings that share the key words and leave apart paraphrases with no words in common
("招不到技术人才"): synonyms (当局 = 政府, 紧缺 = 短缺) are not solved, on purpose.

Everything here is pure and fast (~10 µs a text); OpenCC's converter is built once.
"""

from __future__ import annotations

import math
import re
import sys
import unicodedata
from collections.abc import Collection, Iterable, Sequence
from functools import lru_cache
from typing import Any, Final

import opencc

__all__ = [
    "STOP_CHARS",
    "STOP_WORDS",
    "dice",
    "feature_order",
    "features",
    "ordered",
    "prefix",
    "similarity",
    "size_bounds",
    "text_key",
]

#: Words that say nothing about which problem it is; removed (as segment breaks) before
#: comparing. Longest first, so 进一步 goes before 一步 would.
STOP_WORDS: Final = (
    "进一步",
    "企业",
    "公司",
    "我司",
    "我们",
    "问题",
    "希望",
    "反映",
    "存在",
    "需要",
    "情况",
    "目前",
    "一直",
    "比较",
    "非常",
    "相关",
    "有关",
    "能否",
    "是否",
    "建议",
    "请求",
    "要求",
    "协调",
    "解决",
    "帮助",
)
#: Function characters removed (as segment breaks). Kept small: 有, 对, 为, 过 also make content
#: words (有限, 对接, 为民, 过高), so they stay.
STOP_CHARS: Final = frozenset("的了是在和与及等也都就很还又被把着吗呢吧啊")

_BREAK: Final = " "


@lru_cache(maxsize=1)
def _converter() -> Any:
    return opencc.OpenCC("t2s")


#: Stop characters become breaks; then every run of what is not a letter or a digit does.
_STOP_TABLE: Final = str.maketrans(dict.fromkeys(STOP_CHARS, _BREAK))
_NOT_WORD: Final = re.compile(r"[\W_]+")


def text_key(text: str) -> str:
    """The normalised text: Simplified, NFKC, lower-case, stopwords and punctuation turned into
    single spaces between segments. Store this; compare with :func:`features`."""
    simplified: str = _converter().convert(unicodedata.normalize("NFKC", text))
    lowered = simplified.lower()
    for word in STOP_WORDS:
        if word in lowered:
            lowered = lowered.replace(word, _BREAK)
    return _NOT_WORD.sub(_BREAK, lowered.translate(_STOP_TABLE)).strip()


def features(key: str) -> frozenset[str]:
    """Character unigrams and bigrams of each segment of a :func:`text_key`."""
    found: set[str] = set()
    for segment in key.split(_BREAK):
        found.update(segment)
        found.update(segment[i : i + 2] for i in range(len(segment) - 1))
    return frozenset(sys.intern(f) for f in found)


def dice(a: frozenset[str] | set[str], b: Collection[str]) -> float:
    """Sørensen–Dice coefficient of two feature sets, ``2|A∩B| / (|A|+|B|)``. ``b`` may be any
    collection of distinct features (the projection keeps them as tuples, which are smaller)."""
    total = len(a) + len(b)
    if not total:
        return 0.0
    shared = len(a & b) if isinstance(b, frozenset | set) else len(a.intersection(b))
    return 2.0 * shared / total


def similarity(text_a: str, text_b: str) -> float:
    """Dice similarity of two raw texts (convenience for tests and one-off checks)."""
    return dice(features(text_key(text_a)), features(text_key(text_b)))


# --- candidate filtering (exact) for the common-problem index ------------------------------------


def _jaccard_of(dice_threshold: float) -> float:
    # Dice d and Jaccard j of the same pair: d = 2j / (1 + j), so j = d / (2 - d).
    return dice_threshold / (2.0 - dice_threshold)


def feature_order(feature: str) -> tuple[int, str]:
    """The global order used by :func:`prefix`: bigrams (rarer) before unigrams, then by text."""
    return (-len(feature), feature)


def ordered(found: Iterable[str]) -> tuple[str, ...]:
    """Features sorted by :func:`feature_order` (bigrams, then unigrams, each by text)."""
    pairs: list[str] = []
    singles: list[str] = []
    for feature in found:
        (pairs if len(feature) > 1 else singles).append(feature)
    pairs.sort()
    singles.sort()
    return (*pairs, *singles)


def prefix(ordered: Sequence[str], dice_threshold: float) -> Sequence[str]:
    """The leading features (in :func:`feature_order`) that any text at least
    ``dice_threshold``-similar must share at least one of (prefix filtering: with Jaccard
    threshold j, a set x needs only its first ``|x| - ceil(j·|x|) + 1`` features indexed and
    probed). ``ordered`` must already be sorted by :func:`feature_order`."""
    n = len(ordered)
    if n == 0:
        return ordered
    needed = math.ceil(_jaccard_of(dice_threshold) * n - 1e-9)
    return ordered[: max(1, n - needed + 1)]


def size_bounds(size: int, dice_threshold: float) -> tuple[float, float]:
    """Sizes a feature set may have and still reach ``dice_threshold`` with one of ``size``:
    ``2·min/(a+b) >= d`` needs ``b`` within ``[a·d/(2-d), a·(2-d)/d]``."""
    if dice_threshold <= 0:
        return (0.0, math.inf)
    return (
        size * dice_threshold / (2.0 - dice_threshold),
        size * (2.0 - dice_threshold) / dice_threshold,
    )
