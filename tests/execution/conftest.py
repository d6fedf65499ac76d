from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from qts.db import Database
from qts.db.migrate import upgrade
from qts.events import InProcessEventBus

SAMPLE = Path(__file__).resolve().parents[2] / "src" / "qts" / "sample_data"


def sample_bars(relative: str) -> pd.DataFrame:
    frame = pd.read_csv(SAMPLE / relative, index_col=0)
    frame.index = pd.to_datetime(frame.index, utc=True)
    frame.index.name = "ts"
    return frame.astype(float)


@pytest.fixture
def db(db_url: str):  # type: ignore[no-untyped-def]
    upgrade(db_url)
    database = Database(db_url)
    yield database
    database.dispose()


@pytest.fixture
def sqlite_db(tmp_path: Path):  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'qts.db'}"
    upgrade(url)
    database = Database(url)
    yield database
    database.dispose()


@pytest.fixture
def bus() -> InProcessEventBus:
    return InProcessEventBus()
