"""News sentiment per symbol and bar: VADER by default, FinBERT when its weights are local.

Each news item counts from the first bar whose close is at or after the item's `known_at`, so a
bar never sees news published after it closed. An item's stored score (scored when it was
imported, or the provider's own) is used when present; other items are scored here. Korean
text is never given to VADER (English-only): without a stored score it counts as missing.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from qts.core.errors import ConfigurationError, ValidationError
from qts.market.news import language_of

from .context import FeatureContext
from .definition import FeatureDefinition

SENTIMENT_COLUMNS = (
    "sent_mean", "sent_count", "sent_mean_5", "sent_mean_20", "sent_pos_share_5",
)  # fmt: skip
POSITIVE_THRESHOLD = 0.05


# Label names of a sentiment classifier's classes, English and Korean (KR-FinBERT style).
POSITIVE_LABELS = ("positive", "pos", "긍정")
NEGATIVE_LABELS = ("negative", "neg", "부정")


class SentimentScorer(Protocol):
    name: str
    model_id: str  # what a stored score records as its model

    def score(self, texts: Sequence[str]) -> np.ndarray:
        """One score per text in [-1, 1] (negative to positive)."""
        ...


class _CachedScorer:
    name = "base"
    model_id = "base"

    def __init__(self) -> None:
        self._cache: dict[str, float] = {}

    def _score_uncached(self, texts: list[str]) -> list[float]:
        raise NotImplementedError

    def score(self, texts: Sequence[str]) -> np.ndarray:
        todo = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if todo:
            self._cache.update(zip(todo, self._score_uncached(todo), strict=True))
        return np.array([self._cache[t] for t in texts], dtype=np.float64)


class VaderScorer(_CachedScorer):
    """VADER's compound score; the lexicon ships inside the vaderSentiment package."""

    name = "vader"
    model_id = "vader"

    def __init__(self) -> None:
        super().__init__()
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        self._analyzer = SentimentIntensityAnalyzer()

    def _score_uncached(self, texts: list[str]) -> list[float]:
        return [float(self._analyzer.polarity_scores(t)["compound"]) for t in texts]


class FinBertScorer(_CachedScorer):
    """P(positive) - P(negative) from a local FinBERT-style sequence classifier.

    `model_path` holds a transformers checkpoint (config, weights, tokenizer files) whose labels
    name the positive and negative classes (`positive`/`negative`, or Korean `긍정`/`부정` as
    KR-FinBERT models do); nothing is ever downloaded.
    """

    name = "finbert"

    def __init__(self, model_path: str | Path, batch_size: int = 32, max_length: int = 128):
        super().__init__()
        path = Path(model_path)
        if not (path / "config.json").is_file():
            raise ConfigurationError(f"no transformers model at {path} (config.json missing)")
        try:
            from transformers import AutoModelForSequenceClassification, AutoTokenizer
        except ImportError as exc:
            raise ConfigurationError(
                "a transformers sentiment model needs the ml extra: pip install 'qts[ml]'"
            ) from exc

        self.model_id = f"finbert:{path.resolve().name}"[:128]
        self._tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        self._model = AutoModelForSequenceClassification.from_pretrained(
            str(path), local_files_only=True
        )
        self._model.eval()
        labels = {str(v).strip().lower(): int(k) for k, v in self._model.config.id2label.items()}
        pos = [labels[x] for x in POSITIVE_LABELS if x in labels]
        neg = [labels[x] for x in NEGATIVE_LABELS if x in labels]
        if not pos or not neg:
            raise ConfigurationError(
                f"model at {path} must label its classes positive/negative (or 긍정/부정) in "
                f"config.json id2label, has {sorted(labels)}"
            )
        self._pos, self._neg = pos[0], neg[0]
        self._batch_size, self._max_length = batch_size, max_length

    def _score_uncached(self, texts: list[str]) -> list[float]:
        import torch

        scores: list[float] = []
        with torch.no_grad():
            for start in range(0, len(texts), self._batch_size):
                batch = texts[start : start + self._batch_size]
                enc = self._tokenizer(
                    batch,
                    padding=True,
                    truncation=True,
                    max_length=self._max_length,
                    return_tensors="pt",
                )
                probs = torch.softmax(self._model(**enc).logits, dim=-1)
                scores.extend((probs[:, self._pos] - probs[:, self._neg]).tolist())
        return scores


_SCORERS: dict[tuple[str, str], SentimentScorer] = {}


def get_scorer(model: str = "auto", finbert_path: str | None = None) -> SentimentScorer:
    """`vader`, `finbert` (needs `finbert_path`), or `auto`: FinBERT if its files are there."""
    if model == "auto":
        has_finbert = bool(finbert_path) and (Path(str(finbert_path)) / "config.json").is_file()
        model = "finbert" if has_finbert else "vader"
    key = (model, str(finbert_path or ""))
    if key not in _SCORERS:
        if model == "vader":
            _SCORERS[key] = VaderScorer()
        elif model == "finbert":
            if not finbert_path:
                raise ConfigurationError("the finbert sentiment model needs finbert_path")
            _SCORERS[key] = FinBertScorer(finbert_path)
        else:
            raise ValidationError(f"unknown sentiment model {model!r}")
    return _SCORERS[key]


def _rolling_sum(x: np.ndarray, window: int) -> np.ndarray:
    csum = np.concatenate(([0.0], np.cumsum(x)))
    out = csum[1:].copy()
    out[window:] -= csum[1 : len(x) - window + 1]
    return out


def _item_scores(
    news: pd.DataFrame,
    keep: np.ndarray,
    model: str,
    finbert_path: str | None,
    text_field: str,
    use_stored: bool,
) -> np.ndarray:
    """One score per kept item: the stored one when present and wanted, else the model's;
    NaN (missing) for Korean text when the model is VADER, which reads English only."""
    texts = news[text_field].fillna("").astype(str).to_numpy()[keep]
    scores = np.full(len(texts), np.nan)
    if use_stored and "sentiment" in news.columns:
        scores = pd.to_numeric(news["sentiment"], errors="coerce").to_numpy(np.float64)[keep]
    todo = np.isnan(scores)
    if not todo.any():
        return scores
    scorer = get_scorer(model, finbert_path)
    if scorer.name == "vader":
        if "language" in news.columns:
            languages = news["language"].fillna("").astype(str).to_numpy()[keep]
        else:
            languages = np.array([language_of(t) for t in texts], dtype=object)
        todo &= languages != "ko"
    if todo.any():
        scores[todo] = scorer.score(list(texts[todo]))
    return scores


def compute_sentiment(
    bars: pd.DataFrame,
    ctx: FeatureContext,
    model: str = "auto",
    finbert_path: str | None = None,
    text_field: str = "headline",
    use_stored: bool = True,
) -> pd.DataFrame:
    n = len(bars)
    sums, counts, positives = np.zeros(n), np.zeros(n), np.zeros(n)
    news = ctx.news
    if news is not None and not news.empty and n:
        if "known_at" not in news.columns or text_field not in news.columns:
            raise ValidationError(f"news frame needs columns known_at and {text_field}")
        close_times = ctx.bar_close_times(pd.DatetimeIndex(bars.index))
        known = pd.DatetimeIndex(pd.to_datetime(news["known_at"], utc=True))
        slot = close_times.as_unit("ns").searchsorted(known.as_unit("ns"), side="left")
        keep = slot < n
        if keep.any():
            scores = _item_scores(news, keep, model, finbert_path, text_field, use_stored)
            valid = ~np.isnan(scores)
            at, scores = slot[keep][valid], scores[valid]
            np.add.at(sums, at, scores)
            np.add.at(counts, at, 1.0)
            np.add.at(positives, at, (scores > POSITIVE_THRESHOLD).astype(np.float64))
    with np.errstate(divide="ignore", invalid="ignore"):
        data: dict[str, Any] = {
            "sent_mean": np.where(counts > 0, sums / counts, 0.0),
            "sent_count": counts,
        }
        for w in (5, 20):
            c = _rolling_sum(counts, w)
            data[f"sent_mean_{w}"] = np.where(c > 0, _rolling_sum(sums, w) / c, 0.0)
        c5 = _rolling_sum(counts, 5)
        data["sent_pos_share_5"] = np.where(c5 > 0, _rolling_sum(positives, 5) / c5, np.nan)
    return pd.DataFrame(data, index=bars.index, columns=list(SENTIMENT_COLUMNS))


SENTIMENT = FeatureDefinition(
    name="sentiment",
    fn=compute_sentiment,
    group="sentiment",
    params={"model": "vader", "finbert_path": None, "text_field": "headline", "use_stored": True},
    inputs=("news",),
    columns=SENTIMENT_COLUMNS,
    description="Mean news sentiment per bar and over 5/20 bars, news count, positive share "
    "(stored scores, else VADER for English or FinBERT from a local path)",
    helpers=(_rolling_sum, _item_scores),
)
