"""The pair model (aggregator/cluster/model.py, pair_model.json): it loads, it scores, it
knows every measure the clusterer computes, and a join shows its evidence."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from aggregator.cluster.clusterer import Clusterer
from aggregator.cluster.model import MODEL_FILE, PairModel, bundled
from aggregator.types import ClusterDoc

T0 = datetime(2024, 6, 3, 7, tzinfo=UTC)

QUAKE = [
    ClusterDoc(
        f"q{n}",
        title,
        text,
        T0 + timedelta(hours=n),
        source,
    )
    for n, (title, text, source) in enumerate(
        [
            (
                "Quake of 6.4 shakes Valdoria's north coast",
                "An earthquake of magnitude 6.4 struck near the Valdorian port of Essen Bay on "
                "Monday, toppling houses in Marrow and Tiel. Governor Anika Roos said rescuers "
                "were searching the rubble in Marrow.",
                "Coast Herald",
            ),
            (
                "Rescuers search rubble after Valdoria quake",
                "Rescuers searched collapsed houses in Marrow and Tiel after the magnitude 6.4 "
                "earthquake near Essen Bay, governor Anika Roos said. The quake struck the "
                "Valdorian coast on Monday.",
                "Wire Service",
            ),
        ]
    )
]


def test_bundled_model_loads_and_scores() -> None:
    model = bundled()
    assert len(model.features) == len(model.weights) > 5
    assert 0.0 < model.join_probability < 1.0
    low = model.probability({})
    high = model.probability({"cosine": 0.9, "score": 0.9, "seed": 0.9, "title": 0.9})
    assert 0.0 <= low < high <= 1.0


def test_model_json_round_trip() -> None:
    model = PairModel.from_json(MODEL_FILE.read_text(encoding="utf-8"))
    again = PairModel.from_json(model.to_json())
    assert again == model
    assert json.loads(model.to_json())["features"] == list(model.features)


def test_every_weighted_measure_is_computed_and_shown() -> None:
    clusterer = Clusterer()
    clusterer.add(QUAKE[0])
    placement = clusterer.add(QUAKE[1])
    assert not placement.new_story and placement.story_id == "q0"
    evidence = placement.evidence
    assert evidence["probability"] >= bundled().join_probability
    measured = set(evidence["features"])
    # "gap" and its body variant need two dated articles: both are here
    assert set(bundled().features) <= measured
    json.dumps(evidence)
