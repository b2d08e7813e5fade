from fastapi.testclient import TestClient

from tests.conftest import EDITOR
from tests.factories import make_article, make_author, make_entity


def test_create_and_read_back(client: TestClient) -> None:
    author = make_author(client, name="Achieng Odhiambo")
    kenya = make_entity(client, name="Kenya", type="place")
    article = make_article(
        client, headline="Ruto calls Trump", authors=[author["slug"]], entities=["kenya"]
    )
    assert article["slug"] == "ruto-calls-trump"
    got = client.get(f"/v1/articles/{article['slug']}")
    assert got.status_code == 200
    assert got.json()["authors"][0]["name"] == "Achieng Odhiambo"
    assert got.json()["entities"][0]["id"] == kenya["id"]
    listing = client.get("/v1/articles", headers=EDITOR)
    assert [item["slug"] for item in listing.json()["data"]] == ["ruto-calls-trump"]
