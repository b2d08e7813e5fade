"""The demo newsroom: a desk byline and two reporters, the people, places, organisations,
topics and events of the November 2024 Ruto–Trump call, and stories about them."""

from typing import Any

AUTHORS: list[dict[str, Any]] = [
    {
        "slug": "capital-news-reporter",
        "name": "Capital News Reporter",
        "title": "Newsroom desk",
        "bio": "Stories written by the Capital News desk in Nairobi.",
    },
    {
        "slug": "achieng-odhiambo",
        "name": "Achieng Odhiambo",
        "title": "Diplomatic Correspondent",
        "bio": "Follows Kenya's foreign relations, regional peace talks and security missions.",
        "email": "a.odhiambo@example.com",
    },
    {
        "slug": "brian-mutua",
        "name": "Brian Mutua",
        "title": "Politics Reporter",
        "bio": "Reports on State House, Parliament and elections at home and abroad.",
        "email": "b.mutua@example.com",
    },
]

ENTITIES: list[dict[str, Any]] = [
    {"slug": "william-ruto", "name": "William Ruto", "type": "person",
     "aliases": ["Ruto", "President William Ruto"],
     "description": "President of Kenya."},
    {"slug": "donald-trump", "name": "Donald Trump", "type": "person",
     "aliases": ["Trump", "President-elect Donald Trump"],
     "description": "Elected the 47th President of the United States in November 2024."},
    {"slug": "kamala-harris", "name": "Kamala Harris", "type": "person",
     "aliases": ["Harris", "Vice President Kamala Harris"],
     "description": "Vice President of the United States; lost the 2024 election."},
    {"slug": "antony-blinken", "name": "Antony Blinken", "type": "person",
     "aliases": ["Blinken", "Secretary of State Antony Blinken"],
     "description": "United States Secretary of State."},
    {"slug": "kenya", "name": "Kenya", "type": "place", "aliases": ["Kenyan"],
     "external_ids": {"wikidata": "Q114"}},
    {"slug": "united-states", "name": "United States", "type": "place",
     "aliases": ["U.S.", "US", "United States of America"],
     "external_ids": {"wikidata": "Q30"}},
    {"slug": "haiti", "name": "Haiti", "type": "place", "aliases": ["Haitian"]},
    {"slug": "south-sudan", "name": "South Sudan", "type": "place",
     "aliases": ["South Sudanese"]},
    {"slug": "sudan", "name": "Sudan", "type": "place", "aliases": ["Sudanese"]},
    {"slug": "nairobi", "name": "Nairobi", "type": "place", "aliases": ["NAIROBI"]},
    {"slug": "united-nations", "name": "United Nations", "type": "organization",
     "aliases": ["UN", "U.N."]},
    {"slug": "multinational-security-support-mission",
     "name": "Multinational Security Support Mission", "type": "organization",
     "aliases": ["MSS Mission", "MSS"],
     "description": "The UN-backed security mission in Haiti that Kenya leads."},
    {"slug": "capital-news", "name": "Capital News", "type": "organization", "aliases": []},
    {"slug": "tumaini-peace-initiative", "name": "Tumaini Peace Initiative", "type": "topic",
     "aliases": ["Tumaini"],
     "description": "Peace talks for South Sudan hosted by Kenya."},
    {"slug": "2024-united-states-presidential-election",
     "name": "2024 United States presidential election", "type": "event", "aliases": []},
]  # fmt: skip

WORKED_EXAMPLE_SLUG = "ruto-congratulates-trump-in-phone-call"

ARTICLES: list[dict[str, Any]] = [
    {
        "slug": WORKED_EXAMPLE_SLUG,
        "headline": "Ruto Congratulates Trump in Phone Call, Discusses U.S.-Kenya Ties and "
        "Haiti Mission",
        "standfirst": "Kenya's president called the US president-elect to congratulate him on "
        "his win and to talk trade, security and the Haiti mission.",
        "dateline": "NAIROBI, Kenya",
        "section": "politics",
        "source": "Capital News",
        "status": "published",
        "published_at": "2024-11-08T18:30:00Z",
        # No canonical_url: the story's `url` comes from NEWSDESK_ARTICLE_URL_TEMPLATE
        # (`make run` sets DEMO_URL_TEMPLATE), e.g.
        # https://www.example.com/politics/2024/11/ruto-congratulates-trump-in-phone-call
        "image": {
            "url": "https://example.com/images/state-house-nairobi.jpg",
            "caption": "State House, Nairobi, where the call was made.",
            "credit": "Capital News",
            "alt": "The white front of State House, Nairobi, seen through its gates.",
            "width": 1600,
            "height": 900,
        },
        "authors": ["capital-news-reporter"],
        "entities": [
            "william-ruto",
            "donald-trump",
            "kamala-harris",
            "antony-blinken",
            "kenya",
            "united-states",
            "haiti",
            "south-sudan",
            "sudan",
            "united-nations",
            "multinational-security-support-mission",
            "tumaini-peace-initiative",
        ],
        "body": """President William Ruto has spoken by telephone with President-elect Donald Trump, congratulating him on his election as the 47th President of the United States.

The two leaders went over the U.S.-Kenya relationship: trade and investment, security cooperation and good governance were on the list, according to State House.

## Haiti

Ruto used the call to brief Trump on Kenya's leadership of the Multinational Security Support Mission in Haiti, which the United Nations backs, and asked for continued US collaboration with the mission.

Trump won the election earlier in the week, defeating Vice President Kamala Harris.

## A call with Blinken

Separately, Secretary of State Antony Blinken spoke with Ruto on Thursday. Blinken thanked Kenya for leading the Haiti mission, and the two discussed the Tumaini Peace Initiative for South Sudan, the conflict and humanitarian access in Sudan, and accountability after Kenya's protests between June and August.
""",
    },
    {
        "slug": "blinken-thanks-kenya-for-haiti-mission-leadership",
        "headline": "Blinken Thanks Kenya for Leading Haiti Security Mission",
        "standfirst": "The US Secretary of State spoke with President Ruto about Haiti, South "
        "Sudan's peace talks and the war in Sudan.",
        "dateline": "NAIROBI, Kenya",
        "section": "politics",
        "source": "Capital News",
        "status": "published",
        "published_at": "2024-11-07T16:00:00Z",
        "authors": ["achieng-odhiambo"],
        "entities": [
            "antony-blinken",
            "william-ruto",
            "kenya",
            "united-states",
            "haiti",
            "multinational-security-support-mission",
            "tumaini-peace-initiative",
            "south-sudan",
            "sudan",
        ],
        "body": """Secretary of State Antony Blinken held a call with President William Ruto on Thursday in which he thanked Kenya for its leadership of the Multinational Security Support Mission in Haiti.

Their conversation also covered the Tumaini Peace Initiative, the Kenya-hosted talks that aim to end South Sudan's long political crisis, as well as the fighting in Sudan and the need for humanitarian access there.

Blinken also raised accountability for what happened during Kenya's protests between June and August.
""",
    },
    {
        "slug": "trump-wins-2024-us-presidential-election",
        "headline": "Trump Wins the 2024 US Presidential Election",
        "standfirst": "Donald Trump will return to the White House as the 47th president after "
        "defeating Kamala Harris.",
        "dateline": "WASHINGTON, United States",
        "section": "world",
        "source": "Capital News",
        "status": "published",
        "published_at": "2024-11-06T11:00:00Z",
        "authors": ["brian-mutua"],
        "entities": [
            "donald-trump",
            "kamala-harris",
            "united-states",
            "2024-united-states-presidential-election",
        ],
        "body": """Donald Trump has won the 2024 United States presidential election, beating Vice President Kamala Harris.

He becomes the 47th President of the United States when he is sworn in, returning to an office he first held from 2017 to 2021.

Leaders across Africa, Kenya's among them, are expected to send their congratulations in the coming days.
""",
    },
    {
        "slug": "what-kenyas-haiti-mission-is-and-who-backs-it",
        "headline": "Explainer: What Kenya's Haiti Mission Is, and Who Backs It",
        "standfirst": "Kenyan police lead a multinational force that the UN Security Council "
        "authorised to help Haiti's police against armed gangs.",
        "section": "world",
        "source": "Capital News",
        "status": "published",
        "published_at": "2024-11-05T08:00:00Z",
        "authors": ["achieng-odhiambo", "capital-news-reporter"],
        "entities": [
            "kenya",
            "haiti",
            "multinational-security-support-mission",
            "united-nations",
            "united-states",
        ],
        "body": """The Multinational Security Support Mission, or MSS, is a force of police officers from several countries sent to support the Haitian National Police against the gangs that control much of Port-au-Prince.

Kenya leads the mission. The United Nations Security Council authorised it, and the United States is among its main funders.

**Why it matters for Kenya:** the deployment puts Kenyan officers far from home on a difficult assignment, and partners and critics alike follow how it goes.
""",
    },
    {
        "slug": "tumaini-talks-on-south-sudan-continue-in-nairobi",
        "headline": "Tumaini Talks on South Sudan Continue in Nairobi",
        "standfirst": "Kenya keeps hosting the South Sudan peace process known as the Tumaini "
        "Peace Initiative.",
        "dateline": "NAIROBI, Kenya",
        "section": "politics",
        "source": "Capital News",
        "status": "published",
        "published_at": "2024-11-04T09:30:00Z",
        "authors": ["achieng-odhiambo"],
        "entities": ["tumaini-peace-initiative", "south-sudan", "kenya", "nairobi"],
        "body": """Delegates from South Sudan's government and opposition groups are meeting again in Nairobi under the Tumaini Peace Initiative.

Tumaini, which means "hope" in Swahili, is the name Kenya gave to the process it hosts. Its backers say it is meant to bring groups that stayed out of earlier agreements into the peace process.
""",
    },
    {
        "slug": "aid-groups-press-for-access-in-sudan",
        "headline": "Aid Groups Press for Safe Access in Sudan",
        "standfirst": "Humanitarian agencies say fighting keeps them from reaching people in "
        "need across Sudan.",
        "section": "world",
        "source": "Capital News",
        "status": "published",
        "published_at": "2024-11-03T12:15:00Z",
        "authors": ["capital-news-reporter"],
        "entities": ["sudan", "united-nations"],
        "body": """Relief agencies working in Sudan are calling for safe routes to deliver food and medicine, saying the fighting has cut off many areas.

United Nations agencies have repeatedly asked the warring sides to let aid through.
""",
    },
    {
        "slug": "kenya-us-trade-talks-what-to-watch",
        "headline": "Kenya–US Trade Talks: What to Watch Under a New Administration",
        "standfirst": "A draft analysis of how a second Trump term could shape trade and "
        "investment ties with Kenya.",
        "section": "business",
        "source": "Capital News",
        "status": "draft",
        "authors": ["brian-mutua"],
        "entities": ["kenya", "united-states", "donald-trump", "william-ruto"],
        "body": """*Draft: figures to be checked with the trade ministry before publication.*

Kenya and the United States have spent several years negotiating closer trade ties. The change of administration in Washington raises the question of where those talks go next.
""",
    },
    {
        "slug": "kenya-election-night-live-coverage-plan",
        "headline": "How We Covered US Election Night",
        "standfirst": "A note from the newsroom on its election-night coverage, kept for the "
        "record.",
        "section": "newsroom",
        "source": "Capital News",
        "status": "archived",
        "published_at": "2024-11-05T20:00:00Z",
        "authors": ["capital-news-reporter"],
        "entities": ["2024-united-states-presidential-election", "capital-news"],
        "body": """Our reporters followed the count through the night, Nairobi time, with updates on the site as each state was called.
""",
    },
]
