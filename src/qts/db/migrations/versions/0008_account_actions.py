"""account_actions: corporate actions applied to accounts' positions (once each)

Revision ID: 0008_account_actions
Revises: 0007_news_sentiment
Create Date: 2026-11-30 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import qts.db.base

revision: str = "0008_account_actions"
down_revision: str | None = "0007_news_sentiment"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "account_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(length=32), nullable=False),
        sa.Column("symbol", sa.String(length=64), nullable=False),
        sa.Column("ex_date", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("ratio", sa.Float(), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.Column("quantity", sa.Float(), nullable=False),
        sa.Column("cash", sa.Float(), nullable=False),
        sa.Column("applied_at", qts.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_actions")),
        sa.UniqueConstraint(
            "account",
            "symbol",
            "ex_date",
            "kind",
            name=op.f("uq_account_actions_account_symbol_ex_date_kind"),
        ),
    )


def downgrade() -> None:
    op.drop_table("account_actions")
