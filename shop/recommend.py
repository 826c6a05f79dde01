"""Similar products from their descriptions: the shop's deliberately CPU-heavy feature.

For one product, every product of its category is compared with it by the cosine similarity
of their word-count vectors (TF-IDF weighted), computed from scratch on every request - no
cache, no index. That makes ``GET /api/products/<id>/recommendations`` cost several
milliseconds of pure CPU in the API tier, which is what the scaling lab needs: a workload
whose throughput grows with the CPU given to the API replicas (or to the monolith's workers).
"""

from __future__ import annotations

import math
import re
from collections import Counter

WORD = re.compile(r"[a-z]{3,}")
STOP_WORDS = frozenset(
    "the and for with that this from your are you its has have was were will can all any our one two into "
    "out use more most also than them they their when what which while who how each every just very".split()
)


def words(text: str) -> list[str]:
    return [w for w in WORD.findall(text.lower()) if w not in STOP_WORDS]


def similar(target: dict, candidates: list[dict], *, limit: int) -> list[dict]:
    """The ``limit`` candidates most similar to ``target`` (name + description), best first."""
    documents = {c["id"]: Counter(words(c["name"] + " " + c["description"])) for c in candidates}
    documents[target["id"]] = Counter(words(target["name"] + " " + target["description"]))
    frequency: Counter = Counter()
    for counts in documents.values():
        frequency.update(counts.keys())
    total = len(documents)
    idf = {word: math.log((1 + total) / (1 + df)) + 1 for word, df in frequency.items()}

    def vector(counts: Counter) -> dict[str, float]:
        weighted = {word: count * idf[word] for word, count in counts.items()}
        norm = math.sqrt(sum(v * v for v in weighted.values())) or 1.0
        return {word: v / norm for word, v in weighted.items()}

    target_vector = vector(documents[target["id"]])
    scored = []
    for candidate in candidates:
        if candidate["id"] == target["id"]:
            continue
        candidate_vector = vector(documents[candidate["id"]])
        score = sum(weight * candidate_vector.get(word, 0.0) for word, weight in target_vector.items())
        scored.append((-score, candidate["id"], candidate))
    scored.sort(key=lambda item: (item[0], item[1]))
    return [{**c, "score": round(-s, 4)} for s, _, c in scored[:limit]]
