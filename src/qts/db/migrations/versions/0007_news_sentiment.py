"""news_sentiment: a sentiment score, its model and the language of each news item

Revision ID: 0007_news_sentiment
Revises: 0006_position_currency
Create Date: 2026-11-29 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_news_sentiment"
down_revision: str | None = "0006_position_currency"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("news_items") as batch:
        batch.add_column(sa.Column("sentiment", sa.Float(), nullable=True))
        batch.add_column(
            sa.Column("sentiment_model", sa.String(length=128), nullable=False, server_default="")
        )
        batch.add_column(
            sa.Column("language", sa.String(length=8), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("news_items") as batch:
        batch.drop_column("language")
        batch.drop_column("sentiment_model")
        batch.drop_column("sentiment")
