"""Sentiment scores of news items as they are stored: by language, once, at import or fetch.

English (and other Latin-script) text is scored by VADER. Korean text is scored by a KR-FinBERT
style transformers classifier loaded from a local folder (`QTS_KR_SENTIMENT_MODEL`); without one
Korean items are stored with no score (VADER reads English only) and one clear message says
what to install. Items that already carry a score (a provider's own) keep it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .sentiment import get_scorer

KR_MODEL_SETTING = "QTS_KR_SENTIMENT_MODEL"
KR_MODEL_HINT = (
    "download a KR-FinBERT style sentiment classifier (a transformers "
    "BertForSequenceClassification checkpoint with labels negative/neutral/positive or "
    "부정/중립/긍정, e.g. snunlp/KR-FinBert-SC: config.json, the weights and the tokenizer "
    f"files) into a folder and set {KR_MODEL_SETTING}=/that/folder; nothing is downloaded "
    "by qts"
)


def korean_model_problem(path: str | Path | None) -> str | None:
    """Why Korean text cannot be scored with the configured model, or None when it can."""
    if not path:
        return f"no Korean sentiment model is installed: {KR_MODEL_HINT}"
    if not (Path(path) / "config.json").is_file():
        return (
            f"{KR_MODEL_SETTING}={path} holds no transformers model (config.json missing): "
            f"{KR_MODEL_HINT}"
        )
    return None


def score_news_items(
    items: Sequence[dict[str, Any]], korean_model: str | Path | None = None
) -> dict[str, Any]:
    """Set `sentiment` and `sentiment_model` on items (news_items rows with `headline` and
    `language`) that have no score yet. Returns counts per model, the number left unscored and
    notes for the user (the missing Korean model, said once per call)."""
    todo: dict[str, list[dict[str, Any]]] = {"en": [], "ko": []}
    for item in items:
        if item.get("sentiment") is None and item.get("language") in todo:
            todo[item["language"]].append(item)
    models: dict[str, int] = {}
    notes: list[str] = []
    if todo["en"]:
        _apply(todo["en"], get_scorer("vader"), models)
    if todo["ko"]:
        problem = korean_model_problem(korean_model)
        if problem is None:
            _apply(todo["ko"], get_scorer("finbert", str(korean_model)), models)
        else:
            notes.append(f"{len(todo['ko'])} Korean item(s) stored without a score: {problem}")
    unscored = sum(1 for i in items if i.get("sentiment") is None)
    return {"scored": models, "unscored": unscored, "notes": notes}


def _apply(items: list[dict[str, Any]], scorer: Any, models: dict[str, int]) -> None:
    scores = scorer.score([str(i["headline"]) for i in items])
    for item, value in zip(items, scores, strict=True):
        item["sentiment"] = float(value)
        item["sentiment_model"] = scorer.model_id
    models[scorer.model_id] = models.get(scorer.model_id, 0) + len(items)
