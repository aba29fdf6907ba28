"""identity: Keystone's domains, projects, users, roles, assignments, revocations, keys, catalog

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import offpath.db.columns

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "domains",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", offpath.db.columns.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_domains")),
        sa.UniqueConstraint("name", name=op.f("uq_domains_name")),
    )
    # The projects table of the first schema was never written: it is made anew, in a domain.
    op.drop_table("projects")
    op.create_table(
        "projects",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("domain_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", offpath.db.columns.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["domain_id"],
            ["domains.id"],
            name=op.f("fk_projects_domain_id_domains"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
        sa.UniqueConstraint("domain_id", "name", name=op.f("uq_projects_domain_id")),
    )
    op.create_table(
        "endpoints",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("service_type", sa.String(length=64), nullable=False),
        sa.Column("service_name", sa.String(length=255), nullable=False),
        sa.Column("interface", sa.String(length=16), nullable=False),
        sa.Column("region", sa.String(length=255), nullable=False),
        sa.Column("url", sa.String(length=1024), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_endpoints")),
        sa.UniqueConstraint(
            "service_type", "interface", "region", name=op.f("uq_endpoints_service_type")
        ),
    )
    op.create_table(
        "revoked_tokens",
        sa.Column("audit_id", sa.String(length=64), nullable=False),
        sa.Column("expires_at", offpath.db.columns.UtcDateTime(), nullable=False),
        sa.Column("revoked_at", offpath.db.columns.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("audit_id", name=op.f("pk_revoked_tokens")),
    )
    with op.batch_alter_table("revoked_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_revoked_tokens_expires_at"), ["expires_at"], unique=False
        )

    op.create_table(
        "roles",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("created_at", offpath.db.columns.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roles")),
        sa.UniqueConstraint("name", name=op.f("uq_roles_name")),
    )
    op.create_table(
        "token_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("created_at", offpath.db.columns.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_token_keys")),
    )
    op.create_table(
        "implied_roles",
        sa.Column("prior_role_id", sa.String(length=64), nullable=False),
        sa.Column("implied_role_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["implied_role_id"],
            ["roles.id"],
            name=op.f("fk_implied_roles_implied_role_id_roles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["prior_role_id"],
            ["roles.id"],
            name=op.f("fk_implied_roles_prior_role_id_roles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("prior_role_id", "implied_role_id", name=op.f("pk_implied_roles")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("domain_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("enabled", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("default_project_id", sa.String(length=64), nullable=True),
        sa.Column("tokens_valid_after", offpath.db.columns.UtcDateTime(), nullable=True),
        sa.Column("created_at", offpath.db.columns.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["default_project_id"],
            ["projects.id"],
            name=op.f("fk_users_default_project_id_projects"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["domain_id"],
            ["domains.id"],
            name=op.f("fk_users_domain_id_domains"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("domain_id", "name", name=op.f("uq_users_domain_id")),
    )
    op.create_table(
        "role_assignments",
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("role_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_role_assignments_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["role_id"],
            ["roles.id"],
            name=op.f("fk_role_assignments_role_id_roles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_role_assignments_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "user_id", "project_id", "role_id", name=op.f("pk_role_assignments")
        ),
    )


def downgrade() -> None:
    op.drop_table("role_assignments")
    op.drop_table("users")
    op.drop_table("implied_roles")
    op.drop_table("token_keys")
    op.drop_table("roles")
    with op.batch_alter_table("revoked_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_revoked_tokens_expires_at"))

    op.drop_table("revoked_tokens")
    op.drop_table("endpoints")
    op.drop_table("projects")
    op.drop_table("domains")
    op.create_table(
        "projects",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("created_at", offpath.db.columns.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
        sa.UniqueConstraint("name", name=op.f("uq_projects_name")),
    )
