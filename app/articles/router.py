"""HTTP routes for articles, including the article lists of an author and of an entity.

Handlers translate HTTP to one service call; the query parameters are in ``params`` and
the examples of answers in media types of their own in ``examples``."""

from fastapi import Request, Response

from app.articles import formats, history, queries, related, scopes, service
from app.articles.etags import article_etag
from app.articles.examples import NINJS_EXAMPLE
from app.articles.models import (
    ARTICLE_FIELDS,
    ArticleCreate,
    ArticleItem,
    ArticlePublic,
    ArticleRevisionPublic,
    ArticleRevisionSummary,
    ArticleUpdate,
    CorrectionCreate,
    CorrectionPublic,
    RelatedArticle,
)
from app.articles.params import (
    FieldsQuery,
    FiltersDep,
    LimitQuery,
    ParamsDep,
    SearchQuery,
    SortQuery,
    VersionPath,
)
from app.auth import EditorDep
from app.conditional import (
    ContentValidatorsDep,
    NoneMatchDep,
    NoneMatchReadDep,
    Read,
    ReadDep,
    Validators,
    WriteConditionsDep,
    cached_read_responses,
    check_content,
    document_response,
    tagged_response,
)
from app.db import SessionDep, WriteSessionDep
from app.freshness.tags import article_keys, article_list_keys, show_keys
from app.pagination import ListParams, Page, parse_fields
from app.problems import MOVED, MOVED_WRITE, problem_responses
from app.responses import api_router, created_response, json_response, page_response

router = api_router(tags=["articles"])


LIST_ERRORS = cached_read_responses() | problem_responses(400, 401, 422, 503)


async def _article_page(
    request: Request,
    read: Read,
    filters: queries.ArticleFilters,
    params: ListParams,
    sort: str | None,
    fields: str | None,
    q: str | None,
    validators: Validators,
) -> Response:
    q = q.strip() if q else None
    items, next_cursor, total = await queries.list_articles(
        read.session,
        filters=filters,
        params=params,
        sort=sort,
        fields=parse_fields(fields, (*ARTICLE_FIELDS, "snippet") if q else ARTICLE_FIELDS),
        viewer=read.viewer,
        q=q,
    )
    show_keys(request.scope, article_list_keys(request.scope["route"].path_format, items))
    return page_response(
        request,
        items,
        params=params,
        next_cursor=next_cursor,
        total=total,
        headers=validators.headers(),
    )


def _article_response(article: queries.ArticleData) -> Response:
    """A written article, with the ETag to send in ``If-Match`` on the next write."""
    return json_response(article, headers={"ETag": article_etag(article)})


@router.get(
    "/v1/articles",
    operation_id="listArticles",
    summary="List articles",
    response_model=Page[ArticleItem],
    responses=LIST_ERRORS,
)
async def list_articles(
    request: Request,
    read: NoneMatchReadDep,
    filters: FiltersDep,
    params: ParamsDep,
    q: SearchQuery = None,
    sort: SortQuery = None,
    fields: FieldsQuery = None,
) -> Response:
    """Newest published first, or best match first with `q`. Anonymous callers see
    published articles only; editors see every status and may filter by it
    (`status=deleted` lists the trash). Pages are linked by opaque cursors; with `q` they
    follow the relevance order just the same. The `ETag` changes with any write;
    `If-None-Match` with it answers `304` while nothing changed.

    Relevance: headline matches count most, then the standfirst, then the body. On
    PostgreSQL an article's score depends on that article alone; on SQLite (bm25) it
    also weighs how rare each word is in the whole collection, so a write between two
    page requests can move scores a little."""
    validators = await check_content(request, read)
    return await _article_page(request, read, filters, params, sort, fields, q, validators)


@router.get(
    "/v1/authors/{ref}/articles",
    operation_id="listAuthorArticles",
    summary="List an author's articles",
    tags=["authors"],
    response_model=Page[ArticleItem],
    responses=MOVED | cached_read_responses() | problem_responses(400, 401, 404, 422, 503),
)
async def list_author_articles(
    ref: str,
    request: Request,
    read: NoneMatchReadDep,
    filters: FiltersDep,
    params: ParamsDep,
    q: SearchQuery = None,
    sort: SortQuery = None,
    fields: FieldsQuery = None,
) -> Response:
    """The articles with this author in the byline; same parameters as listArticles."""
    validators = await check_content(request, read)
    scoped = await scopes.author_filters(read.session, filters, ref)
    return await _article_page(request, read, scoped, params, sort, fields, q, validators)


@router.get(
    "/v1/entities/{ref}/articles",
    operation_id="listEntityArticles",
    summary="List an entity's articles",
    tags=["entities"],
    response_model=Page[ArticleItem],
    responses=MOVED | cached_read_responses() | problem_responses(400, 401, 404, 422, 503),
)
async def list_entity_articles(
    ref: str,
    request: Request,
    read: NoneMatchReadDep,
    filters: FiltersDep,
    params: ParamsDep,
    q: SearchQuery = None,
    sort: SortQuery = None,
    fields: FieldsQuery = None,
) -> Response:
    """The articles tagged with this entity; same parameters as listArticles."""
    validators = await check_content(request, read)
    scoped = await scopes.entity_filters(read.session, filters, ref)
    return await _article_page(request, read, scoped, params, sort, fields, q, validators)


@router.post(
    "/v1/articles",
    operation_id="createArticle",
    summary="Create an article",
    status_code=201,
    response_model=ArticlePublic,
    responses=tagged_response(201) | problem_responses(400, 401, 403, 409, 413, 415, 422, 503),
)
async def create_article(
    data: ArticleCreate, request: Request, session: WriteSessionDep, viewer: EditorDep
) -> Response:
    """Markdown in `body` is rendered to sanitised HTML and plain text. A slug is made from
    the headline when none is given; `-2`, `-3`… is added when it is taken. An explicit
    slug that is taken, now or as an old slug of another article, is a `409`."""
    article = await service.create_article(session, data, viewer)
    return created_response(
        request,
        article,
        f"/v1/articles/{article['slug']}",
        headers={"ETag": article_etag(article)},
    )


@router.get(
    "/v1/articles/{ref}",
    operation_id="getArticle",
    summary="Get an article",
    response_model=ArticlePublic,
    responses=MOVED | cached_read_responses(last_modified=True) | problem_responses(401, 404, 503),
)
async def get_article(request: Request, ref: str, read: ReadDep) -> Response:
    """By id or slug. Drafts, scheduled and archived articles are 404 to anonymous callers,
    and articles in the trash to everyone. An old slug answers `301` to the current URL.

    The answer carries `ETag` and `Last-Modified`. Send the ETag back in `If-None-Match`
    and, while the article (with the names of its authors and entities) is unchanged, the
    answer is `304` with no body."""
    article, validators = await queries.read_article(
        read.session, ref, read.viewer, read.conditions
    )
    show_keys(request.scope, article_keys(article))
    return json_response(article, headers=validators.headers())


@router.patch(
    "/v1/articles/{ref}",
    operation_id="updateArticle",
    summary="Update an article",
    response_model=ArticlePublic,
    responses=tagged_response(200)
    | MOVED_WRITE
    | problem_responses(400, 401, 403, 404, 409, 412, 413, 415, 422, 503),
    openapi_extra={
        "requestBody": {
            "content": {
                "application/merge-patch+json": {
                    "schema": {"$ref": "#/components/schemas/ArticleUpdate"}
                }
            }
        }
    },
)
async def update_article(
    ref: str,
    data: ArticleUpdate,
    session: WriteSessionDep,
    viewer: EditorDep,
    conditions: WriteConditionsDep,
) -> Response:
    """A JSON merge patch: fields left out stay as they are, `null` clears a field. Every
    change raises `version` by one and writes a revision; a patch that changes nothing
    changes nothing. A new slug keeps the old one redirecting.

    Send the ETag you read the article with in `If-Match`: if someone changed it since,
    the answer is `412` and nothing is written, so no edit is lost. The answer carries the
    new ETag."""
    article = await service.update_article(session, ref, data, viewer, conditions)
    return _article_response(article)


@router.delete(
    "/v1/articles/{ref}",
    operation_id="deleteArticle",
    summary="Move an article to the trash",
    status_code=204,
    responses=MOVED_WRITE | problem_responses(401, 403, 404, 412, 503),
)
async def delete_article(
    ref: str, session: WriteSessionDep, viewer: EditorDep, conditions: WriteConditionsDep
) -> Response:
    """The article disappears for every caller (`404`) and from every list, count and
    feed, but is kept whole, its slug still reserved; editors find it with
    `GET /v1/articles?status=deleted` and bring it back with `restoreArticle`. Moving to
    the trash is not an edit of the content: `version` stays and no revision is written.
    Deleting it again is a `404`. With `If-Match`, a stale ETag is a `412`."""
    await service.trash_article(session, ref, viewer, conditions)
    return Response(status_code=204)


@router.post(
    "/v1/articles/{ref}/restore",
    operation_id="restoreArticle",
    summary="Restore an article from the trash",
    response_model=ArticlePublic,
    responses=tagged_response(200) | MOVED_WRITE | problem_responses(401, 403, 404, 503),
)
async def restore_article(ref: str, session: WriteSessionDep, viewer: EditorDep) -> Response:
    """Takes the article (by id, or by its slug, which stays reserved in the trash) out of
    the trash exactly as it was: same slug, body, bylines, tags, status, dates and
    `version` (the trash is not a content change, so no revision is written). Restoring
    an article that is not in the trash is allowed and changes nothing: the answer is the
    article as it is."""
    return _article_response(await history.restore_article(session, ref, viewer))


@router.get(
    "/v1/articles/{ref}/revisions",
    operation_id="listArticleRevisions",
    summary="List an article's revisions",
    response_model=Page[ArticleRevisionSummary],
    responses=MOVED | cached_read_responses() | problem_responses(400, 401, 403, 404, 422, 503),
)
async def list_article_revisions(
    ref: str,
    request: Request,
    session: SessionDep,
    viewer: EditorDep,
    params: ParamsDep,
    validators: ContentValidatorsDep,
) -> Response:
    """Editors only. Newest first: one entry per version (creation is version 1, every
    change adds the next, including tag changes made by deleting or merging an entity),
    with the name of the API key that made it. Paged like every list."""
    items, next_cursor, total = await history.list_revisions(
        session, ref, params=params, viewer=viewer
    )
    return page_response(
        request,
        items,
        params=params,
        next_cursor=next_cursor,
        total=total,
        headers=validators.headers(),
    )


@router.get(
    "/v1/articles/{ref}/revisions/{version}",
    operation_id="getArticleRevision",
    summary="Get one revision of an article",
    response_model=ArticleRevisionPublic,
    responses=MOVED | cached_read_responses() | problem_responses(401, 403, 404, 422, 503),
)
async def get_article_revision(
    ref: str,
    version: VersionPath,
    session: SessionDep,
    viewer: EditorDep,
    conditions: NoneMatchDep,
) -> Response:
    """Editors only. The writable fields exactly as they were at that version, in the
    shape `PATCH` accepts: `authors` and `entities` are lists of ids (refs that keep
    working when a slug changes)."""
    revision, validators = await history.get_revision(session, ref, version, viewer)
    conditions.check(validators)
    return json_response(revision, headers=validators.headers())


@router.post(
    "/v1/articles/{ref}/revisions/{version}/restore",
    operation_id="restoreArticleRevision",
    summary="Restore an earlier revision of an article",
    response_model=ArticlePublic,
    responses=tagged_response(200)
    | MOVED_WRITE
    | problem_responses(401, 403, 404, 409, 412, 422, 503),
)
async def restore_article_revision(
    ref: str,
    version: VersionPath,
    session: WriteSessionDep,
    viewer: EditorDep,
    conditions: WriteConditionsDep,
) -> Response:
    """Editors only. Every writable field (status and `published_at` included) goes back
    to what that version recorded, as a new version with its own revision; the answer is
    the article. Authors deleted since are left out of the byline and entities deleted
    since are left out of the tags; an entity merged into another since is replaced by
    that other one. Restoring content identical to the current one changes nothing.
    `If-Match` works as for `PATCH`."""
    article = await history.restore_revision(session, ref, version, viewer, conditions)
    return _article_response(article)


@router.get(
    "/v1/articles/{ref}/related",
    operation_id="listRelatedArticles",
    summary="List related articles",
    response_model=Page[RelatedArticle],
    responses=MOVED | cached_read_responses() | problem_responses(401, 404, 422, 503),
)
async def list_related_articles(
    ref: str, request: Request, read: NoneMatchReadDep, limit: LimitQuery = 20
) -> Response:
    """Published articles tagged with at least one of this article's entities, those
    sharing the most first, then the newest; never the article itself, nothing
    unpublished or in the trash. The answer has the list envelope of every other list
    (`data` and `meta`), so the same client code reads it; it is one ranked page:
    `meta.next_cursor` is always null. Each item is an article summary plus
    `shared_entities`."""
    validators = await check_content(request, read)
    items = await related.list_related(read.session, ref, viewer=read.viewer, limit=limit)
    return json_response(
        {"data": items, "meta": {"limit": limit, "next_cursor": None}},
        headers=validators.headers(),
    )


@router.get(
    "/v1/articles/{ref}/ninjs",
    operation_id="getArticleNinjs",
    summary="Get an article as IPTC ninjs",
    responses=MOVED
    | cached_read_responses()
    | problem_responses(401, 404, 503)
    | document_response("An IPTC ninjs 2.2 document.", "application/json", example=NINJS_EXAMPLE),
)
async def get_article_ninjs(ref: str, request: Request, read: NoneMatchReadDep) -> Response:
    """The article as an IPTC ninjs 2.2 document, valid against IPTC's JSON Schema, served
    as `application/json` (ninjs has no registered media type of its own; `standard`
    names the version and schema). `uri` is `urn:uuid:` plus the article id; `bodies`
    holds the HTML and the plain text; `by` is the byline, `located` the dateline; the
    tags are listed by type in `people`, `organisations`, `places`, `subjects` (topics)
    and `events`, each with a Wikidata or GeoNames URI when the entity has that
    external id, else its URL in this API. `pubstatus` is `usable` when published,
    `withheld` for drafts and scheduled articles (with `embargoed`), `canceled` when
    archived."""
    validators = await check_content(request, read)
    document = await formats.article_ninjs(read.session, ref, read.viewer, str(request.base_url))
    return json_response(document, headers=validators.headers())


@router.get(
    "/v1/articles/{ref}/jsonld",
    operation_id="getArticleJsonLd",
    summary="Get an article as schema.org JSON-LD",
    response_class=Response,
    responses=MOVED
    | cached_read_responses()
    | problem_responses(401, 404, 503)
    | document_response("A schema.org NewsArticle.", "application/ld+json"),
)
async def get_article_jsonld(ref: str, request: Request, read: NoneMatchReadDep) -> Response:
    """A schema.org `NewsArticle` for search engines, ready to paste into a page's JSON-LD
    script element as it is: `<`, `>` and `&` are written as `\\u003c`,
    `\\u003e` and `\\u0026`, so no text in the article can close the script element.
    `author` lists the byline as `Person`s in order, `publisher` is an `Organization`
    named by `source`; tagged entities named in the headline or standfirst are what the
    story is `about`, the others are `mentions`."""
    validators = await check_content(request, read)
    document = await formats.article_jsonld(read.session, ref, read.viewer, str(request.base_url))
    return Response(
        formats.script_safe_json(document),
        media_type="application/ld+json",
        headers=validators.headers(),
    )


@router.post(
    "/v1/articles/{ref}/corrections",
    operation_id="addArticleCorrection",
    summary="Add a correction to an article",
    status_code=201,
    response_model=CorrectionPublic,
    responses=MOVED_WRITE | problem_responses(400, 401, 403, 404, 412, 413, 415, 422, 503),
)
async def add_article_correction(
    ref: str,
    data: CorrectionCreate,
    request: Request,
    session: WriteSessionDep,
    viewer: EditorDep,
    conditions: WriteConditionsDep,
) -> Response:
    """Editors only. Appends a correction note to the story, as newsrooms publish them:
    corrections are never edited or removed (a correction is corrected by another).
    The article lists it in `corrections` (oldest first), moves to its next `version`
    with a revision, and its `updated_at` is now, so feeds show the entry as updated;
    its JSON-LD gives each as a `correction` (`CorrectionComment`). `Location` is the
    article, where the correction is shown. With `If-Match`, a stale ETag is a `412`."""
    correction, slug = await service.add_correction(session, ref, data, viewer, conditions)
    return created_response(request, correction, f"/v1/articles/{slug}")
