"""Old slugs keep answering with a redirect, stay reserved, and can be taken back by
their owner; for articles, authors and entities alike."""

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import EDITOR
from tests.factories import make_article, make_author, make_entity

Maker = Callable[..., dict[str, Any]]
KINDS = [
    pytest.param("articles", make_article, "headline", "/articles", id="articles"),
    pytest.param("authors", make_author, "name", "/articles", id="authors"),
    pytest.param("entities", make_entity, "name", "/articles", id="entities"),
]


@pytest.mark.parametrize(("kind", "make", "title", "sub_path"), KINDS)
def test_old_slug_redirects_to_the_current_url(
    client: TestClient, kind: str, make: Maker, title: str, sub_path: str
) -> None:
    item = make(client, **{title: "Kenya Haiti Mission", "slug": "kenya-haiti-mission"})
    renamed = client.patch(
        f"/v1/{kind}/kenya-haiti-mission", json={"slug": "haiti-mission"}, headers=EDITOR
    )
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["slug"] == "haiti-mission"

    moved = client.get(f"/v1/{kind}/kenya-haiti-mission", follow_redirects=False)
    assert moved.status_code == 301
    assert moved.headers["location"] == f"/v1/{kind}/haiti-mission"
    assert moved.content == b""
    followed = client.get(f"/v1/{kind}/kenya-haiti-mission")
    assert followed.status_code == 200
    assert followed.json()["id"] == item["id"]
    # The query string goes along, and so do sub-resources.
    with_query = client.get(f"/v1/{kind}/kenya-haiti-mission?limit=1", follow_redirects=False)
    assert with_query.headers["location"].endswith(f"/v1/{kind}/haiti-mission?limit=1")
    sub = client.get(f"/v1/{kind}/kenya-haiti-mission{sub_path}", follow_redirects=False)
    if kind == "articles":
        sub = client.get(
            f"/v1/{kind}/kenya-haiti-mission/revisions", headers=EDITOR, follow_redirects=False
        )
        assert sub.status_code == 301
        assert sub.headers["location"].endswith(f"/v1/{kind}/haiti-mission/revisions")
    else:
        assert sub.status_code == 301
        assert sub.headers["location"].endswith(f"/v1/{kind}/haiti-mission/articles")
    # A write to the old slug is redirected with its method kept.
    write = client.patch(
        f"/v1/{kind}/kenya-haiti-mission",
        json={title: "Renamed"},
        headers=EDITOR,
        follow_redirects=False,
    )
    assert write.status_code == 308
    assert write.headers["location"].endswith(f"/v1/{kind}/haiti-mission")


@pytest.mark.parametrize(("kind", "make", "title", "sub_path"), KINDS)
def test_a_chain_of_renames_redirects_to_the_newest(
    client: TestClient, kind: str, make: Maker, title: str, sub_path: str
) -> None:
    make(client, **{title: "First", "slug": "first"})
    assert (
        client.patch(f"/v1/{kind}/first", json={"slug": "second"}, headers=EDITOR).status_code
        == 200
    )
    assert (
        client.patch(f"/v1/{kind}/second", json={"slug": "third"}, headers=EDITOR).status_code
        == 200
    )
    for old in ("first", "second"):
        moved = client.get(f"/v1/{kind}/{old}", follow_redirects=False)
        assert moved.status_code == 301
        assert moved.headers["location"].endswith(f"/v1/{kind}/third")


@pytest.mark.parametrize(("kind", "make", "title", "sub_path"), KINDS)
def test_old_slugs_stay_reserved(
    client: TestClient, kind: str, make: Maker, title: str, sub_path: str
) -> None:
    owner = make(client, **{title: "Kenya Haiti Mission"})
    assert owner["slug"] == "kenya-haiti-mission"
    assert (
        client.patch(
            f"/v1/{kind}/kenya-haiti-mission", json={"slug": "haiti-mission"}, headers=EDITOR
        ).status_code
        == 200
    )
    payload = {title: "Impostor", "slug": "kenya-haiti-mission"}
    if kind == "entities":
        payload["type"] = "topic"
    taken = client.post(f"/v1/{kind}", json=payload, headers=EDITOR)
    assert taken.status_code == 409
    assert taken.headers["content-type"] == "application/problem+json"
    other = make(client, **{title: "Someone else"})
    stolen = client.patch(
        f"/v1/{kind}/{other['slug']}", json={"slug": "kenya-haiti-mission"}, headers=EDITOR
    )
    assert stolen.status_code == 409
    # A generated slug skips it.
    generated = make(client, **{title: "Kenya Haiti Mission"})
    assert generated["slug"] == "kenya-haiti-mission-2"
    assert client.get(f"/v1/{kind}/kenya-haiti-mission", follow_redirects=False).status_code == 301


@pytest.mark.parametrize(("kind", "make", "title", "sub_path"), KINDS)
def test_the_owner_takes_its_old_slug_back(
    client: TestClient, kind: str, make: Maker, title: str, sub_path: str
) -> None:
    owner = make(client, **{title: "Kenya Haiti Mission"})
    assert (
        client.patch(
            f"/v1/{kind}/kenya-haiti-mission", json={"slug": "haiti-mission"}, headers=EDITOR
        ).status_code
        == 200
    )
    back = client.patch(
        f"/v1/{kind}/haiti-mission", json={"slug": "kenya-haiti-mission"}, headers=EDITOR
    )
    assert back.status_code == 200
    assert back.json()["slug"] == "kenya-haiti-mission"
    current = client.get(f"/v1/{kind}/kenya-haiti-mission", follow_redirects=False)
    assert current.status_code == 200
    assert current.json()["id"] == owner["id"]
    moved = client.get(f"/v1/{kind}/haiti-mission", follow_redirects=False)
    assert moved.status_code == 301
    assert moved.headers["location"].endswith(f"/v1/{kind}/kenya-haiti-mission")


@pytest.mark.parametrize(
    ("kind", "make", "title"),
    [
        pytest.param("authors", make_author, "name", id="authors"),
        pytest.param("entities", make_entity, "name", id="entities"),
    ],
)
def test_deleting_frees_the_old_slugs(
    client: TestClient, kind: str, make: Maker, title: str
) -> None:
    make(client, **{title: "Kenya Haiti Mission"})
    assert (
        client.patch(
            f"/v1/{kind}/kenya-haiti-mission", json={"slug": "haiti-mission"}, headers=EDITOR
        ).status_code
        == 200
    )
    assert client.delete(f"/v1/{kind}/haiti-mission", headers=EDITOR).status_code == 204
    assert client.get(f"/v1/{kind}/kenya-haiti-mission").status_code == 404
    again = make(client, **{title: "Kenya Haiti Mission"})
    assert again["slug"] == "kenya-haiti-mission"


def test_an_unknown_slug_is_404(client: TestClient) -> None:
    for kind in ("articles", "authors", "entities"):
        response = client.get(f"/v1/{kind}/never-existed", follow_redirects=False)
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
