"""Offline feature values: one row per (feature version, timeframe, entity, bar).

Layout: "wide, packed". Each row holds the whole vector of one feature version for one bar as
little-endian float64 bytes (`vector`); the column names, in order, are in
`feature_definitions.columns`. Compared with a long layout (one row per value) this is ~100x
fewer rows for the technical group, so bulk writes are one INSERT row per bar on SQLite and
PostgreSQL alike, and an as-of join reads one index range per entity and decodes the vectors
with a single `numpy.frombuffer`. Compared with one SQL column per feature it needs no schema
change when a feature version adds columns. `ts` is the bar open time and names the row;
`known_at` (the bar close) is what point-in-time joins compare with the label time;
`written_at` drives incremental materialisation to the online store. All three are epoch ms.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from qts.db.base import Base


class FeatureValue(Base):
    __tablename__ = "feature_values"
    __table_args__ = (
        Index("ix_feature_values_known", "feature", "version", "timeframe", "entity", "known_at"),
        Index("ix_feature_values_written", "feature", "version", "timeframe", "written_at"),
    )

    feature: Mapped[str] = mapped_column(String(128), primary_key=True)
    version: Mapped[str] = mapped_column(String(32), primary_key=True)
    timeframe: Mapped[str] = mapped_column(String(8), primary_key=True)
    entity: Mapped[str] = mapped_column(String(64), primary_key=True)
    ts: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    known_at: Mapped[int] = mapped_column(BigInteger)
    written_at: Mapped[int] = mapped_column(BigInteger)
    vector: Mapped[bytes] = mapped_column(LargeBinary)
