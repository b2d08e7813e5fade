"""OpenAPI examples of the article routes' answers in media types of their own."""

from app.articles.formats import NINJS_SCHEMA
from app.articles.models import HEADLINE_EXAMPLE

NINJS_EXAMPLE = {
    "uri": "urn:uuid:3fa85f64-5717-4562-b3fc-2c963f66afa6",
    "standard": {"name": "ninjs", "version": "2.2", "schema": NINJS_SCHEMA},
    "type": "text",
    "version": "1",
    "firstcreated": "2024-11-08T18:30:00Z",
    "versioncreated": "2024-11-08T18:30:00Z",
    "pubstatus": "usable",
    "language": "en",
    "headlines": [{"role": "main", "contenttype": "text/plain", "value": HEADLINE_EXAMPLE}],
    "bodies": [{"role": "main", "contenttype": "text/plain", "value": "President William Ruto…"}],
    "by": "Capital News Reporter",
    "located": "NAIROBI, Kenya",
    "people": [{"name": "William Ruto", "rel": "mentioned", "literal": "william-ruto"}],
    "organisations": [],
    "places": [{"name": "Kenya", "rel": "mentioned", "uri": "http://www.wikidata.org/entity/Q114"}],
    "subjects": [],
    "events": [],
}
