"""Initial schema: articles with bylines, tags and revisions; authors; entities; old slugs;
API keys; the content version counter.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def sortable(length: int) -> sa.types.TypeEngine[str]:
    """Text that sorts by code point on both databases."""
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def json_type() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def timestamp(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "api_key",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(10), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("bootstrap", sa.Boolean(), nullable=False),
        timestamp("created_at"),
        timestamp("revoked_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_key")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_key_key_hash")),
    )
    op.create_table(
        "article",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("slug", sortable(120), nullable=False),
        sa.Column("headline", sortable(300), nullable=False),
        sa.Column("standfirst", sa.Text(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("dateline", sa.String(200), nullable=True),
        sa.Column("language", sa.String(35), nullable=False),
        sa.Column("section", sa.String(60), nullable=True),
        sa.Column("source", sa.String(200), nullable=True),
        sa.Column("canonical_url", sa.String(2048), nullable=True),
        sa.Column("image", json_type(), nullable=True),
        sa.Column("status", sa.String(10), nullable=False),
        timestamp("published_at", nullable=True),
        sa.Column("word_count", sa.Integer(), nullable=False),
        sa.Column("reading_time_minutes", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        timestamp("created_at"),
        timestamp("updated_at"),
        timestamp("deleted_at", nullable=True),
        sa.CheckConstraint(
            "status IN ('draft', 'published', 'archived')", name=op.f("ck_article_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_article")),
        sa.UniqueConstraint("slug", name=op.f("uq_article_slug")),
    )
    op.create_index("ix_article_published_at_id", "article", ["published_at", "id"])
    op.create_index("ix_article_updated_at_id", "article", ["updated_at", "id"])
    op.create_index("ix_article_created_at_id", "article", ["created_at", "id"])
    op.create_index(op.f("ix_article_language"), "article", ["language"])
    op.create_index(op.f("ix_article_section"), "article", ["section"])

    op.create_table(
        "author",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("slug", sortable(120), nullable=False),
        sa.Column("name", sortable(200), nullable=False),
        sa.Column("title", sa.String(200), nullable=True),
        sa.Column("bio", sa.Text(), nullable=True),
        sa.Column("avatar_url", sa.String(2048), nullable=True),
        sa.Column("url", sa.String(2048), nullable=True),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("search_text", sa.Text(), nullable=False),
        timestamp("created_at"),
        timestamp("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_author")),
        sa.UniqueConstraint("slug", name=op.f("uq_author_slug")),
    )
    op.create_table(
        "entity",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("slug", sortable(120), nullable=False),
        sa.Column("name", sortable(200), nullable=False),
        sa.Column("type", sa.String(20), nullable=False),
        sa.Column("aliases", json_type(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("external_ids", json_type(), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        timestamp("created_at"),
        timestamp("updated_at"),
        sa.CheckConstraint(
            "type IN ('person', 'organization', 'place', 'topic', 'event')",
            name=op.f("ck_entity_type"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entity")),
        sa.UniqueConstraint("slug", name=op.f("uq_entity_slug")),
    )
    op.create_index(op.f("ix_entity_type"), "entity", ["type"])

    op.create_table(
        "article_author",
        sa.Column("article_id", sa.Uuid(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["article.id"],
            name=op.f("fk_article_author_article_id_article"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["author.id"], name=op.f("fk_article_author_author_id_author")
        ),
        sa.PrimaryKeyConstraint("article_id", "author_id", name=op.f("pk_article_author")),
    )
    op.create_index(op.f("ix_article_author_author_id"), "article_author", ["author_id"])
    op.create_table(
        "article_entity",
        sa.Column("article_id", sa.Uuid(), nullable=False),
        sa.Column("entity_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["article.id"],
            name=op.f("fk_article_entity_article_id_article"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["entity_id"], ["entity.id"], name=op.f("fk_article_entity_entity_id_entity")
        ),
        sa.PrimaryKeyConstraint("article_id", "entity_id", name=op.f("pk_article_entity")),
    )
    op.create_index(op.f("ix_article_entity_entity_id"), "article_entity", ["entity_id"])
    op.create_table(
        "article_revision",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("article_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("key_name", sa.String(200), nullable=True),
        sa.Column("content", json_type(), nullable=False),
        timestamp("created_at"),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["article.id"],
            name=op.f("fk_article_revision_article_id_article"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_article_revision")),
        sa.UniqueConstraint(
            "article_id", "version", name=op.f("uq_article_revision_article_id_version")
        ),
    )

    op.create_table(
        "slug_redirect",
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("slug", sortable(120), nullable=False),
        sa.Column("target_id", sa.Uuid(), nullable=False),
        timestamp("created_at"),
        sa.PrimaryKeyConstraint("kind", "slug", name=op.f("pk_slug_redirect")),
    )
    op.create_index(op.f("ix_slug_redirect_target_id"), "slug_redirect", ["target_id"])

    content_version = op.create_table(
        "content_version",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_version")),
    )
    op.bulk_insert(content_version, [{"id": 1, "value": 0}])


def downgrade() -> None:
    op.drop_table("content_version")
    op.drop_index(op.f("ix_slug_redirect_target_id"), table_name="slug_redirect")
    op.drop_table("slug_redirect")
    op.drop_table("article_revision")
    op.drop_index(op.f("ix_article_entity_entity_id"), table_name="article_entity")
    op.drop_table("article_entity")
    op.drop_index(op.f("ix_article_author_author_id"), table_name="article_author")
    op.drop_table("article_author")
    op.drop_index(op.f("ix_entity_type"), table_name="entity")
    op.drop_table("entity")
    op.drop_table("author")
    for name in ("section", "language", "created_at_id", "updated_at_id", "published_at_id"):
        op.drop_index(f"ix_article_{name}", table_name="article")
    op.drop_table("article")
    op.drop_table("api_key")
