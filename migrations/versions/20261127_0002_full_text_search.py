"""Full-text search over articles, and a version number for the entity catalogue.

PostgreSQL: ``article.search_vector``, a stored generated ``tsvector`` (headline weight A,
standfirst B, body D) under a GIN index. The text is first folded and split by
``search_words()`` exactly as SQLite's ``unicode61 remove_diacritics 2`` tokenizer does,
so both databases see the same words; a filler lexeme ``_`` between the parts keeps a
phrase from running from the headline into the standfirst (FTS5 columns never join).

SQLite: the FTS5 table ``article_search`` over a view of ``article``, keyed by the
integer ids of ``article_search_key`` (an ordinary table's rowid may change on VACUUM),
kept in step by triggers on insert, update and delete.

Both: row 2 of ``content_version`` counts changes to entities' names, aliases, slugs and
types, bumped by triggers, so that every worker can tell cheaply when its cached entity
matcher is out of date.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy of app/articles/search_charset.py as of this revision (generated from
# SQLite's tokenizer by scripts/search_charset.py); a test checks that they agree.
# A regular-expression bracket (Python and PostgreSQL alike) of word separators.
SEPARATOR_CLASS = r"[\u0001-\u002f\u003a-\u0040\u005b-\u0060\u007b-\u00a9\u00ab-\u00b1\u00b4\u00b6-\u00b8\u00bb\u00bf\u00d7\u00f7\u02c2-\u02c5\u02d2-\u02df\u02e5-\u02eb\u02ed\u02ef-\u02ff\u0305\u030d-\u030e\u0310\u0312-\u031a\u031c-\u0322\u0329-\u032c\u032f\u0332-\u036f\u0375\u037e\u0384-\u0385\u0387\u03f6\u0482-\u0489\u055a-\u055f\u0589-\u058a\u058d-\u058f\u0591-\u05c7\u05f3-\u05f4\u0600-\u061f\u064b-\u065f\u066a-\u066d\u0670\u06d4\u06d6-\u06e4\u06e7-\u06ed\u06fd-\u06fe\u0700-\u070d\u070f\u0711\u0730-\u074a\u07a6-\u07b0\u07eb-\u07f3\u07f6-\u07f9\u07fe-\u07ff\u0816-\u0819\u081b-\u0823\u0825-\u0827\u0829-\u082d\u0830-\u083e\u0859-\u085b\u085e\u0888\u0890-\u0891\u08e2\u08e4-\u08fe\u0900-\u0903\u093a-\u093c\u093e-\u094f\u0951-\u0957\u0962-\u0965\u0970\u0981-\u0983\u09bc\u09be-\u09c4\u09c7-\u09c8\u09cb-\u09cd\u09d7\u09e2-\u09e3\u09f2-\u09f3\u09fa-\u09fb\u09fd\u0a01-\u0a03\u0a3c\u0a3e-\u0a42\u0a47-\u0a48\u0a4b-\u0a4d\u0a51\u0a70-\u0a71\u0a75-\u0a76\u0a81-\u0a83\u0abc\u0abe-\u0ac5\u0ac7-\u0ac9\u0acb-\u0acd\u0ae2-\u0ae3\u0af0-\u0af1\u0b01-\u0b03\u0b3c\u0b3e-\u0b44\u0b47-\u0b48\u0b4b-\u0b4d\u0b56-\u0b57\u0b62-\u0b63\u0b70\u0b82\u0bbe-\u0bc2\u0bc6-\u0bc8\u0bca-\u0bcd\u0bd7\u0bf3-\u0bfa\u0c01-\u0c03\u0c3e-\u0c44\u0c46-\u0c48\u0c4a-\u0c4d\u0c55-\u0c56\u0c62-\u0c63\u0c77\u0c7f\u0c82-\u0c84\u0cbc\u0cbe-\u0cc4\u0cc6-\u0cc8\u0cca-\u0ccd\u0cd5-\u0cd6\u0ce2-\u0ce3\u0d02-\u0d03\u0d3e-\u0d44\u0d46-\u0d48\u0d4a-\u0d4d\u0d4f\u0d57\u0d62-\u0d63\u0d79\u0d82-\u0d83\u0dca\u0dcf-\u0dd4\u0dd6\u0dd8-\u0ddf\u0df2-\u0df4\u0e31\u0e34-\u0e3a\u0e3f\u0e47-\u0e4f\u0e5a-\u0e5b\u0eb1\u0eb4-\u0eb9\u0ebb-\u0ebc\u0ec8-\u0ecd\u0f01-\u0f1f\u0f34-\u0f3f\u0f71-\u0f87\u0f8d-\u0f97\u0f99-\u0fbc\u0fbe-\u0fcc\u0fce-\u0fda\u102b-\u103e\u104a-\u104f\u1056-\u1059\u105e-\u1060\u1062-\u1064\u1067-\u106d\u1071-\u1074\u1082-\u108d\u108f\u109a-\u109f\u10fb\u135d-\u1368\u1390-\u1399\u1400\u166d-\u166e\u1680\u169b-\u169c\u16eb-\u16ed\u1712-\u1714\u1732-\u1736\u1752-\u1753\u1772-\u1773\u17b4-\u17d6\u17d8-\u17db\u17dd\u1800-\u180e\u18a9\u1920-\u192b\u1930-\u193b\u1940\u1944-\u1945\u19b0-\u19c0\u19c8-\u19c9\u19de-\u19ff\u1a17-\u1a1b\u1a1e-\u1a1f\u1a55-\u1a5e\u1a60-\u1a7c\u1a7f\u1aa0-\u1aa6\u1aa8-\u1aad\u1b00-\u1b04\u1b34-\u1b44\u1b5a-\u1b7e\u1b80-\u1b82\u1ba1-\u1bad\u1be6-\u1bf3\u1bfc-\u1bff\u1c24-\u1c37\u1c3b-\u1c3f\u1c7e-\u1c7f\u1cc0-\u1cc7\u1cd0-\u1ce8\u1ced\u1cf2-\u1cf4\u1dc0-\u1de6\u1dfc-\u1dff\u1fbd\u1fbf-\u1fc1\u1fcd-\u1fcf\u1fdd-\u1fdf\u1fed-\u1fef\u1ffd-\u1ffe\u2000-\u2064\u2066-\u206f\u207a-\u207e\u208a-\u208e\u20a0-\u20c0\u20d0-\u20f0\u2100-\u2101\u2103-\u2106\u2108-\u2109\u2114\u2116-\u2118\u211e-\u2123\u2125\u2127\u2129\u212e\u213a-\u213b\u2140-\u2144\u214a-\u214d\u214f\u218a-\u218b\u2190-\u2426\u2440-\u244a\u249c-\u24e9\u2500-\u2775\u2794-\u2b73\u2b76-\u2b95\u2b97-\u2bff\u2ce5-\u2cea\u2cef-\u2cf1\u2cf9-\u2cfc\u2cfe-\u2cff\u2d70\u2d7f\u2de0-\u2e2e\u2e30-\u2e5d\u2e80-\u2e99\u2e9b-\u2ef3\u2f00-\u2fd5\u2ff0-\u2ffb\u3000-\u3004\u3008-\u3020\u302a-\u3030\u3036-\u3037\u303d-\u303f\u3099-\u309c\u30a0\u30fb\u3190-\u3191\u3196-\u319f\u31c0-\u31e3\u3200-\u321e\u322a-\u3247\u3250\u3260-\u327f\u328a-\u32b0\u32c0-\u33ff\u4dc0-\u4dff\ua490-\ua4c6\ua4fe-\ua4ff\ua60d-\ua60f\ua66f-\ua67e\ua69f\ua6f0-\ua6f7\ua700-\ua716\ua720-\ua721\ua789-\ua78a\ua802\ua806\ua80b\ua823-\ua82b\ua836-\ua839\ua874-\ua877\ua880-\ua881\ua8b4-\ua8c4\ua8ce-\ua8cf\ua8e0-\ua8f1\ua8f8-\ua8fa\ua8fc\ua926-\ua92f\ua947-\ua953\ua95f\ua980-\ua983\ua9b3-\ua9cd\ua9de-\ua9df\uaa29-\uaa36\uaa43\uaa4c-\uaa4d\uaa5c-\uaa5f\uaa77-\uaa79\uaa7b\uaab0\uaab2-\uaab4\uaab7-\uaab8\uaabe-\uaabf\uaac1\uaade-\uaadf\uaaeb-\uaaf1\uaaf5-\uaaf6\uab5b\uab6a-\uab6b\uabe3-\uabed\ufb1e\ufb29\ufbb2-\ufbc2\ufd3e-\ufd4f\ufdcf\ufdfc-\ufe19\ufe20-\ufe26\ufe30-\ufe52\ufe54-\ufe66\ufe68-\ufe6b\ufeff\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65\uffe0-\uffe6\uffe8-\uffee\ufff9-\uffff\U00010100-\U00010102\U00010137-\U0001013f\U00010179-\U00010189\U0001018c-\U0001018e\U00010190-\U0001019c\U000101a0\U000101d0-\U000101fd\U0001039f\U000103d0\U0001056f\U00010857\U00010877-\U00010878\U0001091f\U0001093f\U00010a01-\U00010a03\U00010a05-\U00010a06\U00010a0c-\U00010a0f\U00010a38-\U00010a3a\U00010a3f\U00010a50-\U00010a58\U00010a7f\U00010ac8\U00010af0-\U00010af6\U00010b39-\U00010b3f\U00010b99-\U00010b9c\U00010ead\U00010f55-\U00010f59\U00010f86-\U00010f89\U00011000-\U00011002\U00011038-\U0001104d\U00011080-\U00011082\U000110b0-\U000110c1\U000110cd\U00011100-\U00011102\U00011127-\U00011134\U00011140-\U00011143\U00011174-\U00011175\U00011180-\U00011182\U000111b3-\U000111c0\U000111c5-\U000111c8\U000111cd\U000111db\U000111dd-\U000111df\U00011238-\U0001123d\U000112a9\U0001144b-\U0001144f\U0001145a-\U0001145b\U0001145d\U000114c6\U000115c1-\U000115d7\U00011641-\U00011643\U00011660-\U0001166c\U000116ab-\U000116b7\U000116b9\U0001173c-\U0001173f\U0001183b\U00011944-\U00011946\U000119e2\U00011a3f-\U00011a46\U00011a9a-\U00011a9c\U00011a9e-\U00011aa2\U00011c41-\U00011c45\U00011c70-\U00011c71\U00011ef7-\U00011ef8\U00011fd5-\U00011ff1\U00011fff\U00012470-\U00012474\U00012ff1-\U00012ff2\U00013430-\U00013438\U00016a6e-\U00016a6f\U00016af5\U00016b37-\U00016b3f\U00016b44-\U00016b45\U00016e97-\U00016e9a\U00016f51-\U00016f7e\U00016f8f-\U00016f92\U00016fe2\U0001bc9c\U0001bc9f-\U0001bca3\U0001cf50-\U0001cfc3\U0001d000-\U0001d0f5\U0001d100-\U0001d126\U0001d129-\U0001d1ea\U0001d200-\U0001d245\U0001d300-\U0001d356\U0001d6c1\U0001d6db\U0001d6fb\U0001d715\U0001d735\U0001d74f\U0001d76f\U0001d789\U0001d7a9\U0001d7c3\U0001d800-\U0001d9ff\U0001da37-\U0001da3a\U0001da6d-\U0001da74\U0001da76-\U0001da83\U0001da85-\U0001da8b\U0001e14f\U0001e2ff\U0001e95e-\U0001e95f\U0001ecac\U0001ecb0\U0001ed2e\U0001eef0-\U0001eef1\U0001f000-\U0001f02b\U0001f030-\U0001f093\U0001f0a0-\U0001f0ae\U0001f0b1-\U0001f0bf\U0001f0c1-\U0001f0cf\U0001f0d1-\U0001f0f5\U0001f10d-\U0001f1ad\U0001f1e6-\U0001f202\U0001f210-\U0001f23b\U0001f240-\U0001f248\U0001f250-\U0001f251\U0001f260-\U0001f265\U0001f300-\U0001f6d7\U0001f6dd-\U0001f6ec\U0001f6f0-\U0001f6fc\U0001f700-\U0001f773\U0001f780-\U0001f7d8\U0001f7e0-\U0001f7eb\U0001f7f0\U0001f800-\U0001f80b\U0001f810-\U0001f847\U0001f850-\U0001f859\U0001f860-\U0001f887\U0001f890-\U0001f8ad\U0001f8b0-\U0001f8b1\U0001f900-\U0001fa53\U0001fa60-\U0001fa6d\U0001fa70-\U0001fa74\U0001fa78-\U0001fa7c\U0001fa80-\U0001fa86\U0001fa90-\U0001faac\U0001fab0-\U0001faba\U0001fac0-\U0001fac5\U0001fad0-\U0001fad9\U0001fae0-\U0001fae7\U0001faf0-\U0001faf6\U0001fb00-\U0001fb92\U0001fb94-\U0001fbca\U000e0001\U000e0020-\U000e007f\U000e0100-\U000e01ef]"
# Letters that lose their diacritics, and what they become.
FOLD_FROM = "ÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖÙÚÛÜÝàáâãäåçèéêëìíîïñòóôõöùúûüýÿĀāĂăĄąĆćĈĉĊċČčĎďĒēĔĕĖėĘęĚěĜĝĞğĠġĢģĤĥĨĩĪīĬĭĮįİĴĵĶķĹĺĻļĽľŃńŅņŇňŌōŎŏŐőŔŕŖŗŘřŚśŜŝŞşŠšŢţŤťŨũŪūŬŭŮůŰűŲųŴŵŶŷŸŹźŻżŽžſƠơƯưǍǎǏǐǑǒǓǔǕǖǗǘǙǚǛǜǞǟǦǧǨǩǪǫǬǭǰǴǵǸǹǺǻȀȁȂȃȄȅȆȇȈȉȊȋȌȍȎȏȐȑȒȓȔȕȖȗȘșȚțȞȟȦȧȨȩȪȫȬȭȮȯȰȱȲȳḀḁḂḃḄḅḆḇḈḉḊḋḌḍḎḏḐḑḒḓḔḕḖḗḘḙḚḛḜḝḞḟḠḡḢḣḤḥḦḧḨḩḪḫḬḭḮḯḰḱḲḳḴḵḶḷḸḹḺḻḼḽḾḿṀṁṂṃṄṅṆṇṈṉṊṋṌṍṎṏṐṑṒṓṔṕṖṗṘṙṚṛṜṝṞṟṠṡṢṣṤṥṦṧṨṩṪṫṬṭṮṯṰṱṲṳṴṵṶṷṸṹṺṻṼṽṾṿẀẁẂẃẄẅẆẇẈẉẊẋẌẍẎẏẐẑẒẓẔẕẖẗẘẙẛẠạẢảẤấẦầẨẩẪẫẬậẮắẰằẲẳẴẵẶặẸẹẺẻẼẽẾếỀềỂểỄễỆệỈỉỊịỌọỎỏỐốỒồỔổỖỗỘộỚớỜờỞởỠỡỢợỤụỦủỨứỪừỬửỮữỰựỲỳỴỵỶỷỸỹ"
FOLD_TO = "aaaaaaceeeeiiiinooooouuuuyaaaaaaceeeeiiiinooooouuuuyyaaaaaaccccccccddeeeeeeeeeegggggggghhiiiiiiiiijjkkllllllnnnnnnoooooorrrrrrssssssssttttuuuuuuuuuuuuwwyyyzzzzzzsoouuaaiioouuuuuuuuuuaaggkkoooojggnnaaaaaaeeeeiiiioooorrrruuuusstthhaaeeooooooooyyaabbbbbbccddddddddddeeeeeeeeeeffgghhhhhhhhhhiiiikkkkkkllllllllmmmmmmnnnnnnnnoooooooopppprrrrrrrrssssssssssttttttttuuuuuuuuuuvvvvwwwwwwwwwwxxxxyyzzzzzzhtwysaaaaaaaaaaaaaaaaaaaaaaaaeeeeeeeeeeeeeeeeiiiioooooooooooooooooooooooouuuuuuuuuuuuuuyyyyyyyy"
# Combining marks that disappear without splitting the word.
DROPPED = "̧̨̛̣̤̥̦̭̮̰̱̀́̂̃̄̆̇̈̉̊̋̌̏̑"

ENTITY_CATALOGUE_ROW = 2


def _postgresql_upgrade() -> None:
    op.execute(
        "CREATE FUNCTION search_words(value text) RETURNS text "
        "LANGUAGE sql IMMUTABLE PARALLEL SAFE RETURNS NULL ON NULL INPUT AS $$ "
        # translate() scans its whole FROM list for every character: only text that
        # holds a character to fold pays for it.
        "SELECT regexp_replace("
        f"CASE WHEN value ~ '[{FOLD_FROM}{DROPPED}]' "
        f"THEN translate(value, '{FOLD_FROM}{DROPPED}', '{FOLD_TO}') ELSE value END, "
        f"'{SEPARATOR_CLASS}', ' ', 'g') $$"
    )
    op.execute(
        "ALTER TABLE article ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
        "setweight(to_tsvector('simple', coalesce(search_words(headline), '')), 'A') "
        "|| '_:1'::tsvector "
        "|| setweight(to_tsvector('simple', coalesce(search_words(standfirst), '')), 'B') "
        "|| '_:1'::tsvector "
        "|| setweight(to_tsvector('simple', coalesce(search_words(body_text), '')), 'D')"
        ") STORED"
    )
    # Ranking reads the vector of every match: kept in the row (compressed) instead of
    # out of line in TOAST, ranking a word found in half of 100,000 stories took a fifth
    # of the time (bench/search.py). Rows already there move in when next written.
    op.execute("ALTER TABLE article ALTER COLUMN search_vector SET STORAGE MAIN")
    op.execute("CREATE INDEX ix_article_search_vector ON article USING gin (search_vector)")
    op.execute(
        "CREATE FUNCTION bump_entity_catalogue_version() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN "
        f"UPDATE content_version SET value = value + 1 WHERE id = {ENTITY_CATALOGUE_ROW}; "
        "RETURN NULL; END $$"
    )
    op.execute(
        "CREATE TRIGGER entity_catalogue_changed "
        "AFTER INSERT OR DELETE OR TRUNCATE OR UPDATE OF name, aliases, slug, type ON entity "
        "FOR EACH STATEMENT EXECUTE FUNCTION bump_entity_catalogue_version()"
    )


def _postgresql_downgrade() -> None:
    op.execute("DROP TRIGGER entity_catalogue_changed ON entity")
    op.execute("DROP FUNCTION bump_entity_catalogue_version()")
    op.execute("DROP INDEX ix_article_search_vector")
    op.execute("ALTER TABLE article DROP COLUMN search_vector")
    op.execute("DROP FUNCTION search_words(text)")


_SEARCH_KEY = "(SELECT id FROM article_search_key WHERE article_id = {row}.id)"
_INDEX_ROW = (
    "INSERT INTO article_search(rowid, headline, standfirst, body_text) "
    "VALUES (" + _SEARCH_KEY.format(row="new") + ", new.headline, new.standfirst, new.body_text);"
)
_UNINDEX_ROW = (
    "INSERT INTO article_search(article_search, rowid, headline, standfirst, body_text) "
    "VALUES ('delete', "
    + _SEARCH_KEY.format(row="old")
    + ", old.headline, old.standfirst, old.body_text);"
)
_SQLITE_TRIGGERS = {
    "article_search_insert": (
        "AFTER INSERT ON article BEGIN "
        "INSERT INTO article_search_key(article_id) VALUES (new.id); " + _INDEX_ROW + " END"
    ),
    "article_search_update": (
        "AFTER UPDATE OF headline, standfirst, body_text ON article BEGIN "
        + _UNINDEX_ROW
        + " "
        + _INDEX_ROW
        + " END"
    ),
    "article_search_delete": (
        "AFTER DELETE ON article BEGIN "
        + _UNINDEX_ROW
        + " DELETE FROM article_search_key WHERE article_id = old.id; END"
    ),
}
_BUMP = f"BEGIN UPDATE content_version SET value = value + 1 WHERE id = {ENTITY_CATALOGUE_ROW}; END"
_SQLITE_ENTITY_TRIGGERS = {
    "entity_catalogue_insert": f"AFTER INSERT ON entity {_BUMP}",
    "entity_catalogue_update": f"AFTER UPDATE OF name, aliases, slug, type ON entity {_BUMP}",
    "entity_catalogue_delete": f"AFTER DELETE ON entity {_BUMP}",
}


def _sqlite_upgrade() -> None:
    op.execute(
        "CREATE TABLE article_search_key ("
        "id INTEGER PRIMARY KEY, "
        "article_id CHAR(32) NOT NULL UNIQUE)"
    )
    op.execute(
        "CREATE VIEW article_search_source AS "
        "SELECT article_search_key.id AS search_key, article.headline, article.standfirst, "
        "article.body_text FROM article_search_key "
        "JOIN article ON article.id = article_search_key.article_id"
    )
    op.execute(
        "CREATE VIRTUAL TABLE article_search USING fts5("
        "headline, standfirst, body_text, "
        "content='article_search_source', content_rowid='search_key', "
        "tokenize='unicode61 remove_diacritics 2')"
    )
    for name, body in (_SQLITE_TRIGGERS | _SQLITE_ENTITY_TRIGGERS).items():
        op.execute(f"CREATE TRIGGER {name} {body}")
    op.execute("INSERT INTO article_search_key(article_id) SELECT id FROM article ORDER BY rowid")
    op.execute("INSERT INTO article_search(article_search) VALUES ('rebuild')")


def _sqlite_downgrade() -> None:
    for name in (*_SQLITE_ENTITY_TRIGGERS, *_SQLITE_TRIGGERS):
        op.execute(f"DROP TRIGGER {name}")
    op.execute("DROP TABLE article_search")
    op.execute("DROP VIEW article_search_source")
    op.execute("DROP TABLE article_search_key")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_upgrade()
    else:
        _sqlite_upgrade()
    op.execute(f"INSERT INTO content_version (id, value) VALUES ({ENTITY_CATALOGUE_ROW}, 0)")


def downgrade() -> None:
    op.execute(f"DELETE FROM content_version WHERE id = {ENTITY_CATALOGUE_ROW}")
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_downgrade()
    else:
        _sqlite_downgrade()
