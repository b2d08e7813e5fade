"""Search finds the other forms of a word: stemming by the article's language.

PostgreSQL: one text search configuration per Snowball language (``newsdesk_english``,
``newsdesk_french`` …, and ``newsdesk_simple`` for every other language), each running
the ``unaccent`` dictionary and then a Snowball stemmer that keeps stop words (so that a
phrase or a word such as "and" is found as SQLite finds it). ``newsdesk_search_config()``
maps an article's BCP 47 ``language`` to its configuration; ``article.search_vector`` is
rebuilt with it. The text is still split where SQLite's ``unicode61`` tokenizer splits it
(``search_separated()``, a plain ``regexp_replace``); the hand-written accent folding of
0002 (``search_words()``) goes: ``unaccent`` does it.

Also on PostgreSQL: ``ix_article_published_at_desc_id``, the order of every article list
(newest first, undated drafts last), so that a page is read from the index, not sorted.

SQLite: the FTS5 table ``article_search`` is rebuilt with the ``porter`` tokenizer over
``unicode61 remove_diacritics 2``: English stemming, for articles of every language.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Primary language subtag -> PostgreSQL Snowball stemmer (PostgreSQL 13 and later).
SNOWBALL_LANGUAGES = {
    "ar": "arabic",
    "hy": "armenian",
    "eu": "basque",
    "ca": "catalan",
    "da": "danish",
    "nl": "dutch",
    "en": "english",
    "fi": "finnish",
    "fr": "french",
    "de": "german",
    "el": "greek",
    "hi": "hindi",
    "hu": "hungarian",
    "id": "indonesian",
    "ga": "irish",
    "it": "italian",
    "lt": "lithuanian",
    "ne": "nepali",
    "no": "norwegian",
    "nb": "norwegian",
    "nn": "norwegian",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sr": "serbian",
    "es": "spanish",
    "sv": "swedish",
    "ta": "tamil",
    "tr": "turkish",
    "yi": "yiddish",
}
# Token types of words (the parser's names); numbers, e-mails and URLs keep their mapping.
WORD_TOKENS = (
    "asciiword, word, numword, asciihword, hword, numhword, "
    "hword_asciipart, hword_part, hword_numpart"
)


def _migration_0002() -> ModuleType:
    """Migration 0002, for its frozen word separators and to put its objects back."""
    path = next(Path(__file__).parent.glob("*_0002_full_text_search.py"))
    spec = importlib.util.spec_from_file_location("newsdesk_migration_0002", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _config_function() -> str:
    cases = " ".join(
        f"WHEN '{tag}' THEN 'newsdesk_{name}'::regconfig"
        for tag, name in SNOWBALL_LANGUAGES.items()
    )
    return (
        "CREATE FUNCTION newsdesk_search_config(language text) RETURNS regconfig "
        "LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ "
        f"SELECT CASE lower(split_part(coalesce(language, ''), '-', 1)) {cases} "
        "ELSE 'newsdesk_simple'::regconfig END $$"
    )


def _vector(config: str, separated: str) -> str:
    return (
        f"setweight(to_tsvector({config}, {separated}(coalesce(headline, ''))), 'A') "
        "|| '_:1'::tsvector "
        f"|| setweight(to_tsvector({config}, {separated}(coalesce(standfirst, ''))), 'B') "
        "|| '_:1'::tsvector "
        f"|| setweight(to_tsvector({config}, {separated}(coalesce(body_text, ''))), 'D')"
    )


def _add_vector(expression: str) -> None:
    op.execute(
        f"ALTER TABLE article ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ({expression}) "
        "STORED"
    )
    op.execute("ALTER TABLE article ALTER COLUMN search_vector SET STORAGE MAIN")
    op.execute("CREATE INDEX ix_article_search_vector ON article USING gin (search_vector)")


def _postgresql_upgrade() -> None:
    separators = _migration_0002().SEPARATOR_CLASS
    op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    op.execute(
        "CREATE FUNCTION search_separated(value text) RETURNS text "
        "LANGUAGE sql IMMUTABLE PARALLEL SAFE RETURNS NULL ON NULL INPUT AS $$ "
        f"SELECT regexp_replace(value, '{separators}', ' ', 'g') $$"
    )
    for name in sorted(set(SNOWBALL_LANGUAGES.values())):
        # No StopWords: every word is indexed, as SQLite indexes it.
        op.execute(
            f"CREATE TEXT SEARCH DICTIONARY newsdesk_{name}_stem "
            f"(TEMPLATE = snowball, Language = {name})"
        )
        op.execute(f"CREATE TEXT SEARCH CONFIGURATION newsdesk_{name} (COPY = pg_catalog.simple)")
        op.execute(
            f"ALTER TEXT SEARCH CONFIGURATION newsdesk_{name} "
            f"ALTER MAPPING FOR {WORD_TOKENS} WITH unaccent, newsdesk_{name}_stem"
        )
    op.execute("CREATE TEXT SEARCH CONFIGURATION newsdesk_simple (COPY = pg_catalog.simple)")
    op.execute(
        "ALTER TEXT SEARCH CONFIGURATION newsdesk_simple "
        f"ALTER MAPPING FOR {WORD_TOKENS} WITH unaccent, simple"
    )
    op.execute(_config_function())
    op.execute("DROP INDEX ix_article_search_vector")
    op.execute("ALTER TABLE article DROP COLUMN search_vector")
    op.execute("DROP FUNCTION search_words(text)")
    _add_vector(_vector("newsdesk_search_config(language)", "search_separated"))
    # Lists sort by published_at DESC NULLS LAST (undated drafts last, as on SQLite): an
    # index in that order lets the 20 newest stop after 20 rows instead of sorting all.
    op.execute(
        "CREATE INDEX ix_article_published_at_desc_id "
        "ON article (published_at DESC NULLS LAST, id DESC)"
    )


def _postgresql_downgrade() -> None:
    old = _migration_0002()
    op.execute("DROP INDEX ix_article_published_at_desc_id")
    op.execute("DROP INDEX ix_article_search_vector")
    op.execute("ALTER TABLE article DROP COLUMN search_vector")
    op.execute("DROP FUNCTION newsdesk_search_config(text)")
    op.execute("DROP TEXT SEARCH CONFIGURATION newsdesk_simple")
    for name in sorted(set(SNOWBALL_LANGUAGES.values())):
        op.execute(f"DROP TEXT SEARCH CONFIGURATION newsdesk_{name}")
        op.execute(f"DROP TEXT SEARCH DICTIONARY newsdesk_{name}_stem")
    op.execute("DROP FUNCTION search_separated(text)")
    op.execute(
        "CREATE FUNCTION search_words(value text) RETURNS text "
        "LANGUAGE sql IMMUTABLE PARALLEL SAFE RETURNS NULL ON NULL INPUT AS $$ "
        "SELECT regexp_replace("
        f"CASE WHEN value ~ '[{old.FOLD_FROM}{old.DROPPED}]' "
        f"THEN translate(value, '{old.FOLD_FROM}{old.DROPPED}', '{old.FOLD_TO}') ELSE value END, "
        f"'{old.SEPARATOR_CLASS}', ' ', 'g') $$"
    )
    _add_vector(_vector("'simple'", "search_words"))
    # The extension stays: other objects of the database may use it.


def _sqlite_search_table(tokenizer: str) -> None:
    op.execute("DROP TABLE article_search")
    op.execute(
        "CREATE VIRTUAL TABLE article_search USING fts5("
        "headline, standfirst, body_text, "
        "content='article_search_source', content_rowid='search_key', "
        f"tokenize='{tokenizer}')"
    )
    op.execute("INSERT INTO article_search(article_search) VALUES ('rebuild')")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_upgrade()
    else:
        _sqlite_search_table("porter unicode61 remove_diacritics 2")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_downgrade()
    else:
        _sqlite_search_table("unicode61 remove_diacritics 2")
