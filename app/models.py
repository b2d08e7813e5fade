"""Every table, imported in one place so that the metadata is complete (Alembic, tests)."""

from sqlmodel import SQLModel

from app.articles.models import Article, ArticleAuthor, ArticleEntity, ArticleRevision
from app.authors.models import Author
from app.changes import ContentVersion
from app.entities.models import Entity
from app.instance import InstanceSecret
from app.keys.models import ApiKey
from app.slugs import SlugRedirect
from app.webhooks.models import WebhookDelivery, WebhookDispatch, WebhookSubscription

metadata = SQLModel.metadata

__all__ = [
    "ApiKey",
    "Article",
    "ArticleAuthor",
    "ArticleEntity",
    "ArticleRevision",
    "Author",
    "ContentVersion",
    "Entity",
    "InstanceSecret",
    "SlugRedirect",
    "WebhookDelivery",
    "WebhookDispatch",
    "WebhookSubscription",
    "metadata",
]
