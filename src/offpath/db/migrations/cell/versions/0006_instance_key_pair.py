"""instances.key_name and key_data: the key pair a server was booted with (Nova's)

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("instances", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key_name", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("key_data", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("instances", schema=None) as batch_op:
        batch_op.drop_column("key_data")
        batch_op.drop_column("key_name")
