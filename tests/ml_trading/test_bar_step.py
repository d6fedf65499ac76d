"""Per-bar inference: each newest bar's features from a short tail of the history give the
scores of the whole-history, point-in-time path, and the vector lands in the online store."""

from __future__ import annotations

import numpy as np

from qts.ml.feature_store import to_epoch_ms
from qts.ml.inference_step import FIRST_TAIL, BarStep
from tests.ml_trading.conftest import engine_with


def test_tail_features_score_like_the_whole_history(krx5, tiny_model) -> None:  # type: ignore[no-untyped-def]
    engine = engine_with(tiny_model)
    loaded = engine.load("tiny/1")
    expected = engine_with(tiny_model).score_history("tiny/1", krx5)
    step = BarStep(engine, loaded)
    index = krx5["005930"].index
    first = int(index.searchsorted(loaded.window_end, side="right"))
    for end in range(first, first + 15):
        history = {s: b.loc[: index[end]] for s, b in krx5.items()}
        got = {p.symbol: p for p in step.predict(history)}
        assert set(got) == set(krx5)
        for symbol, p in got.items():
            assert p.ts == index[end] and p.model == "tiny" and p.version == "1"
            np.testing.assert_allclose(p.score, expected.loc[index[end], symbol], rtol=1e-9)
    # The basic features reach back 21 bars: the first tail tried is enough, for every symbol.
    assert set(step.tails.values()) == {FIRST_TAIL}
    use = loaded.recipe.features[0]
    vector = engine.source.online.get("1d", "005930", [use.key])
    assert vector is not None
    assert vector.as_of[use.key.id] == int(to_epoch_ms(index[first + 14 : first + 15])[0])


def test_no_score_inside_the_training_window(krx5, tiny_model) -> None:  # type: ignore[no-untyped-def]
    engine = engine_with(tiny_model)
    step = BarStep(engine, engine.load("tiny/1"))
    inside = {s: b.loc[:"2025-01-31"] for s, b in krx5.items()}
    assert step.predict(inside) == []
