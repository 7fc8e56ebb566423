"""The learnt second stage: how likely an article reports the same event as a story.

A logistic regression over a few similarity measures of one (article, story) pair
(``evidence.pair_features``): cosines with the story's centroid and with its first
article, the headline match, names the two do not share, conflicting figures, the story's
size and feeds, the time between them. A cosine alone says "same kind of news"; on a busy
day two events of one kind score high on it, and what tells them apart is the weight of
the other measures, which no hand-set rule balanced well. The weights are learnt from the
dev corpora by ``bench/train_cluster_model.py`` and kept in ``pair_model.json`` next to
this file (a few hundred bytes: no ML runtime, a dot product and a sigmoid).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

MODEL_FILE = Path(__file__).with_name("pair_model.json")


@dataclass(frozen=True)
class PairModel:
    """Weights per feature name, a bias, and the probabilities that decide."""

    features: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float
    # join the best story at or above this probability, else start a new story
    join_probability: float = 0.5
    # merge a second story the article also matches at or above this probability
    merge_probability: float = 0.5

    def probability(self, values: Mapping[str, float]) -> float:
        z = self.bias + sum(
            w * values.get(f, 0.0) for f, w in zip(self.features, self.weights, strict=True)
        )
        if z < -30:
            return 0.0
        return 1.0 / (1.0 + math.exp(-z))

    def to_json(self, **extra: Any) -> str:
        data = {
            "features": list(self.features),
            "weights": [round(w, 6) for w in self.weights],
            "bias": round(self.bias, 6),
            "join_probability": self.join_probability,
            "merge_probability": self.merge_probability,
            **extra,
        }
        return json.dumps(data, indent=1, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> PairModel:
        data = json.loads(text)
        features = tuple(str(f) for f in data["features"])
        weights = tuple(float(w) for w in data["weights"])
        if len(features) != len(weights):
            raise ValueError("pair model: as many weights as features needed")
        return cls(
            features,
            weights,
            float(data["bias"]),
            float(data.get("join_probability", 0.5)),
            float(data.get("merge_probability", 0.5)),
        )

    @classmethod
    def of(cls, weights: Mapping[str, float], bias: float, **kwargs: float) -> PairModel:
        names: Sequence[str] = sorted(weights)
        return cls(tuple(names), tuple(weights[n] for n in names), bias, **kwargs)


@lru_cache(maxsize=1)
def bundled() -> PairModel:
    """The model shipped with the package (``pair_model.json``)."""
    return PairModel.from_json(MODEL_FILE.read_text(encoding="utf-8"))
