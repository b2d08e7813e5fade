"""Text of the OpenAPI document: the overview and the tag descriptions."""

DESCRIPTION = """
Newsdesk stores articles, their authors and the entities they are about (people,
organisations, places, topics and events), and serves them to websites and apps.

**Reading.** Anonymous callers read published articles; their responses carry
`Cache-Control: public, max-age=60` (a setting), so a CDN can hold them. Lists use cursor
pagination: pass `meta.next_cursor` back as `cursor`; the `Link` header has the next page too.

**Writing.** Send an API key as `Authorization: Bearer <key>`. Editors write content and see
drafts; admins also manage keys. Responses to keyed requests are `private, no-store`.

**Refs.** Wherever a path says `{ref}`, the id or the slug works. A slug that changed keeps
answering with `301` and the current URL in `Location`.

**Errors** are `application/problem+json` (RFC 9457) with `type`, `title`, `status` and
`detail`; validation errors add `errors`, one entry per problem.
""".strip()

TAGS = [
    {
        "name": "articles",
        "description": "Stories with Markdown bodies rendered to safe HTML and plain text, "
        "ordered bylines and entity tags.",
    },
    {"name": "authors", "description": "The people (or desks) in bylines."},
    {
        "name": "entities",
        "description": "People, organisations, places, topics and events that articles are "
        "tagged with, with the other names they go by.",
    },
    {
        "name": "feeds",
        "description": "Atom 1.0 and RSS 2.0 feeds of the newest published articles.",
    },
    {"name": "keys", "description": "API keys (admins only). Only hashes are stored."},
    {"name": "operations", "description": "Liveness, readiness and metrics."},
]
