from __future__ import annotations

from pathlib import Path

import pandas as pd

SAMPLE = Path(__file__).resolve().parents[2] / "src" / "qts" / "sample_data"


def sample_bars(relative: str) -> pd.DataFrame:
    frame = pd.read_csv(SAMPLE / relative, index_col=0)
    frame.index = pd.to_datetime(frame.index, utc=True)
    frame.index.name = "ts"
    return frame.astype(float)
