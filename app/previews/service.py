"""Preview links: an editor mints one for an article; anyone holding it reads the article
as an editor sees it, until it expires."""

from datetime import timedelta
from typing import Any

from app.articles import queries as article_queries
from app.auth import Viewer
from app.db import Reader, utcnow
from app.errors import NotFound
from app.keys.models import Role
from app.previews.tokens import PreviewGrant, make_token, read_token, signing_key

PREVIEW_VIEWER = Viewer(key_name="preview link", role=Role.editor)


async def create_preview(
    session: Reader, ref: str, *, expires_in: int, viewer: Viewer
) -> dict[str, Any]:
    row = await article_queries.get_visible_row(session, ref, viewer)
    # Whole seconds: the token carries the expiry to the second.
    expires_at = (utcnow() + timedelta(seconds=expires_in)).replace(microsecond=0)
    token = make_token(signing_key(), PreviewGrant(row.id, expires_at))
    return {"token": token, "url": f"/v1/preview/{token}", "expires_at": expires_at}


async def read_preview(session: Reader, token: str) -> article_queries.ArticleData:
    """The article as an editor sees it now; 404 for a token that is malformed, altered,
    expired or unknown, and for an article in the trash or gone."""
    grant = read_token(signing_key(), token, utcnow())
    if grant is None:
        raise NotFound("No preview at this address; it may have expired.")
    try:
        return await article_queries.get_article(session, str(grant.article_id), PREVIEW_VIEWER)
    except NotFound as exc:
        raise NotFound("No preview at this address; the article is gone.") from exc
