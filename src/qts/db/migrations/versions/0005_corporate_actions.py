"""corporate_actions: splits and cash dividends beside the raw bars

Revision ID: 0005_corporate_actions
Revises: 0004_model_monitoring
Create Date: 2026-11-29 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import qts.db.base

revision: str = "0005_corporate_actions"
down_revision: str | None = "0004_model_monitoring"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "corporate_actions",
        sa.Column("exchange", sa.String(length=32), nullable=False),
        sa.Column("symbol", sa.String(length=64), nullable=False),
        sa.Column("ex_date", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("ratio", sa.Float(), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("known_at", qts.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "exchange", "symbol", "ex_date", "kind", name=op.f("pk_corporate_actions")
        ),
    )


def downgrade() -> None:
    op.drop_table("corporate_actions")
