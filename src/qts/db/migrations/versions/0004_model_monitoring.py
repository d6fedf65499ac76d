"""model_monitoring: drift checks of model versions

Revision ID: 0004_model_monitoring
Revises: 0003_dashboard
Create Date: 2026-11-29 14:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import qts.db.base

revision: str = "0004_model_monitoring"
down_revision: str | None = "0003_dashboard"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "model_monitoring",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_name", sa.String(length=128), nullable=False),
        sa.Column("model_version", sa.Integer(), nullable=False),
        sa.Column("checked_at", qts.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("window_start", sa.BigInteger(), nullable=True),
        sa.Column("window_end", sa.BigInteger(), nullable=True),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("breach", sa.Boolean(), nullable=False),
        sa.Column("max_feature_psi", sa.Float(), nullable=True),
        sa.Column("prediction_psi", sa.Float(), nullable=True),
        sa.Column("prediction_ks", sa.Float(), nullable=True),
        sa.Column("ic", sa.Float(), nullable=True),
        sa.Column("ic_kind", sa.String(length=8), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("retraining_run_id", sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_monitoring")),
    )
    with op.batch_alter_table("model_monitoring", schema=None) as batch_op:
        batch_op.create_index(
            "ix_model_monitoring_lookup", ["model_name", "checked_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("model_monitoring", schema=None) as batch_op:
        batch_op.drop_index("ix_model_monitoring_lookup")
    op.drop_table("model_monitoring")
