"""Korean news sentiment through a transformers model loaded from a local folder: a tiny random
BERT saved here (nothing downloaded) scores Korean headlines at import, the scores are stored
with the model's name and the `sentiment` feature reads them; without a model the user gets one
clear message and Korean items are stored unscored (never given to VADER)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qts.config import reset_settings_cache
from qts.db import Database
from qts.db.repositories.news import NewsRepository
from qts.ml.features import SENTIMENT, FeatureContext
from qts.services.data import news as news_service
from qts.services.ml.features import load_news

KOREAN = [
    "삼성전자, 3분기 영업이익 급증",
    "SK하이닉스 주가 급락, 실적 부진 우려",
    "현대차 신차 판매 호조",
]
ENGLISH = "Apple shares surge after record profit"


@pytest.fixture(scope="module")
def tiny_kr_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random 2-layer BERT classifier (hidden 32, 2 heads) with a vocabulary of Korean
    syllables, labelled in Korean like KR-FinBERT (부정/중립/긍정), saved as a checkpoint."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    path = tmp_path_factory.mktemp("kr-finbert-tiny")
    syllables = sorted({ch for text in KOREAN for ch in text if "\uac00" <= ch <= "\ud7a3"})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "sk", ",", *syllables]
    (path / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = transformers.BertTokenizerFast(vocab_file=str(path / "vocab.txt"))
    labels = {0: "부정", 1: "중립", 2: "긍정"}
    config = transformers.BertConfig(
        vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=64, num_labels=3,
        id2label=labels, label2id={v: k for k, v in labels.items()},
    )  # fmt: skip
    torch.manual_seed(7)
    transformers.BertForSequenceClassification(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def _csv(tmp_path: Path) -> Path:
    """Korean headlines at 09:30 KST on 4, 5 and 6 March 2024, and one English headline."""
    rows = [f'2024-03-0{i + 4}T09:30:00+09:00,"{text}"' for i, text in enumerate(KOREAN)]
    rows.append(f'2024-03-07T10:00:00-05:00,"{ENGLISH}"')
    path = tmp_path / "kr_news.csv"
    path.write_text("published_at,headline\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def _stored(db: Database) -> dict[str, dict]:
    with db.session() as s:
        return {n["headline"]: n for n in NewsRepository(s).read_news()}


def test_korean_headlines_scored_by_the_local_model(
    sqlite_db: Database, tiny_kr_bert: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QTS_KR_SENTIMENT_MODEL", str(tiny_kr_bert))  # the setting users set
    reset_settings_cache()
    try:
        out = news_service.import_news(sqlite_db, _csv(tmp_path))
    finally:
        reset_settings_cache()
    model_id = f"finbert:{tiny_kr_bert.name}"
    assert out["inserted"] == 4 and out["scored"] == {"vader": 1, model_id: 3}
    assert out["unscored"] == 0 and out["notes"] == []
    stored = _stored(sqlite_db)
    korean = [stored[t] for t in KOREAN]
    assert [n["symbols"] for n in korean] == [["005930"], ["000660"], ["005380"]]
    assert all(n["language"] == "ko" and n["sentiment_model"] == model_id for n in korean)
    scores = np.array([n["sentiment"] for n in korean])
    assert np.all((scores >= -1) & (scores <= 1)) and np.ptp(scores) > 0  # random but distinct
    assert stored[ENGLISH]["language"] == "en" and stored[ENGLISH]["sentiment_model"] == "vader"
    assert stored[ENGLISH]["sentiment"] > 0.3 and stored[ENGLISH]["symbols"] == ["AAPL"]

    # Deterministic: the same model scores the same text the same way in a fresh database.
    from qts.ml.features.sentiment import FinBertScorer

    again = FinBertScorer(tiny_kr_bert).score(KOREAN)
    assert again == pytest.approx(scores, abs=1e-6)

    # The sentiment feature uses the stored scores (no model given to it reads Korean).
    news = load_news(sqlite_db, "005930")
    assert news["sentiment"].tolist() == pytest.approx([scores[0]])
    bars = pd.DataFrame(
        {c: 1.0 for c in ("open", "high", "low", "close", "volume")},
        index=pd.date_range("2024-03-01", periods=10, freq="D", tz="UTC", name="ts"),
    )
    feat = SENTIMENT.compute(bars, FeatureContext(symbol="005930", timeframe="1d", news=news))
    # Known 2024-03-04 00:30 UTC: the 03-03 bar closed at 00:00, before it; the first bar whose
    # close is at or after it is 03-04's (index 3).
    assert feat["sent_count"].tolist() == [0, 0, 0, 1, 0, 0, 0, 0, 0, 0]
    assert feat["sent_mean"].iloc[3] == pytest.approx(scores[0])


def test_without_a_korean_model_items_are_stored_unscored_with_a_clear_message(
    sqlite_db: Database, tmp_path: Path
) -> None:
    out = news_service.import_news(sqlite_db, _csv(tmp_path), korean_model="")
    assert out["inserted"] == 4 and out["scored"] == {"vader": 1} and out["unscored"] == 3
    (note,) = out["notes"]
    assert "3 Korean item(s) stored without a score" in note
    assert "QTS_KR_SENTIMENT_MODEL" in note and "KR-FinBert" in note
    stored = _stored(sqlite_db)
    assert all(stored[t]["sentiment"] is None and stored[t]["language"] == "ko" for t in KOREAN)
    # The feature treats them as missing: VADER does not score Korean text.
    news = load_news(sqlite_db, "000660")
    bars = pd.DataFrame(
        {c: 1.0 for c in ("open", "high", "low", "close", "volume")},
        index=pd.date_range("2024-03-01", periods=10, freq="D", tz="UTC", name="ts"),
    )
    feat = SENTIMENT.compute(bars, FeatureContext(timeframe="1d", news=news))
    assert len(news) == 1 and feat["sent_count"].sum() == 0
    # A configured folder that holds no model says so, naming the setting and the folder.
    more = tmp_path / "more.csv"
    more.write_text('published_at,headline\n2024-03-08T09:00:00+09:00,"카카오 실적 발표"\n')
    missing = news_service.import_news(sqlite_db, more, korean_model=tmp_path)
    assert missing["inserted"] == 1 and missing["unscored"] == 1
    assert f"QTS_KR_SENTIMENT_MODEL={tmp_path} holds no transformers model" in missing["notes"][0]


def test_items_stored_without_a_model_are_scored_once_one_is_installed(
    sqlite_db: Database, tmp_path: Path, tiny_kr_bert: Path
) -> None:
    first = news_service.import_news(sqlite_db, _csv(tmp_path), korean_model="")
    assert first["unscored"] == 3
    known_before = {t: row["known_at"] for t, row in _stored(sqlite_db).items()}
    again = news_service.rescore_news(sqlite_db, korean_model="")  # still no model: says so
    assert again["scored"] == {} and again["unscored"] == 3 and "Korean" in again["notes"][0]
    done = news_service.rescore_news(sqlite_db, korean_model=tiny_kr_bert)
    assert done["unscored"] == 0 and sum(done["scored"].values()) == 3
    stored = _stored(sqlite_db)
    assert all(-1 <= stored[t]["sentiment"] <= 1 for t in KOREAN)
    assert all(stored[t]["sentiment_model"].startswith("finbert:") for t in KOREAN)
    assert {t: row["known_at"] for t, row in stored.items()} == known_before  # times unchanged
    assert news_service.rescore_news(sqlite_db, korean_model=tiny_kr_bert)["scored"] == {}
