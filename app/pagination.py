"""Keyset pagination shared by every list: sort parsing, opaque cursors over the sort key
plus id, ``fields`` selection and the ``{"data", "meta"}`` envelope."""

import base64
import binascii
import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

import orjson
from fastapi import Query
from pydantic import BaseModel, Field
from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    and_,
    bindparam,
    false,
    func,
    or_,
    select,
)
from starlette.datastructures import URL

from app.db import Reader, records
from app.errors import BadRequest, ValidationFailed

ItemT = TypeVar("ItemT")
Kind = Literal["datetime", "str", "int", "float"]


@dataclass(frozen=True)
class SortField:
    """A field a list may be sorted by: its SQL expression and the type of its values."""

    column: ColumnElement[Any]
    kind: Kind
    nullable: bool = False


@dataclass(frozen=True)
class SortKey:
    name: str
    field: SortField
    descending: bool

    @property
    def label(self) -> str:
        return f"sort_{self.name}"


@dataclass(frozen=True)
class ListParams:
    limit: int
    cursor: str | None
    count: bool


# async: FastAPI runs a plain `def` dependency in a worker thread, a thread hop per request
# for no I/O at all (the same holds for the other parsing dependencies of reads).
async def list_params(
    limit: Annotated[int, Query(ge=1, le=100, description="Items per page, 1–100.")] = 20,
    cursor: Annotated[
        str | None, Query(description="`meta.next_cursor` of the previous page.")
    ] = None,
    count: Annotated[bool, Query(description="Add `meta.total`, the number of matches.")] = False,
) -> ListParams:
    return ListParams(limit=limit, cursor=cursor, count=count)


class PageMeta(BaseModel):
    limit: int = Field(examples=[20])
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page.",
        examples=["WyIyMDI0LTExLTA4VDE4OjMwOjAwWiIsIjNmYTg1ZjY0Il0"],
    )
    total: int | None = Field(None, description="Only present when `count=true`.")


def only_id_required(schema: dict[str, Any]) -> None:
    """``json_schema_extra`` for list items: with ``fields`` any key but ``id`` may be left
    out of an item, so the list's schema requires ``id`` only."""
    schema["required"] = ["id"]


class Page(BaseModel, Generic[ItemT]):
    data: list[ItemT]
    meta: PageMeta


def parse_sort(raw: str | None, fields: Mapping[str, SortField], default: str) -> list[SortKey]:
    keys: list[SortKey] = []
    for part in (raw or default).split(","):
        name = part.strip()
        descending = name.startswith("-")
        name = name.lstrip("-+")
        if name not in fields:
            allowed = ", ".join(sorted(fields))
            raise ValidationFailed(
                f"Unknown sort field {name!r}; use one of {allowed}.",
                loc=["query", "sort"],
                error_type="sort_unknown",
            )
        if any(key.name == name for key in keys):
            continue
        keys.append(SortKey(name, fields[name], descending))
    return keys


def parse_fields(raw: str | None, allowed: Sequence[str]) -> frozenset[str] | None:
    """The top-level keys to return, or None for the default set; ``id`` is always kept."""
    if raw is None or not raw.strip():
        return None
    names = {name.strip() for name in raw.split(",") if name.strip()}
    unknown = sorted(names - set(allowed))
    if unknown:
        raise ValidationFailed(
            f"Unknown field {unknown[0]!r}; use any of {', '.join(allowed)}.",
            loc=["query", "fields"],
            error_type="fields_unknown",
        )
    return frozenset(names | {"id"})


def pick_fields(item: dict[str, Any], fields: frozenset[str] | None) -> dict[str, Any]:
    """The item with only the keys ``parse_fields`` returned (all of them for None)."""
    if fields is None:
        return item
    return {key: value for key, value in item.items() if key in fields}


def sort_columns(keys: Sequence[SortKey]) -> list[ColumnElement[Any]]:
    """The sort expressions, labelled so that a cursor can be read back off a row."""
    return [key.field.column.label(key.label) for key in keys]


def order_by(keys: Sequence[SortKey], id_column: ColumnElement[Any]) -> list[Any]:
    clauses: list[Any] = []
    for key in keys:
        column = key.field.column
        clause = column.desc() if key.descending else column.asc()
        clauses.append(clause.nulls_last() if key.field.nullable else clause)
    last_descending = keys[-1].descending if keys else False
    clauses.append(id_column.desc() if last_descending else id_column.asc())
    return clauses


def after_cursor(
    keys: Sequence[SortKey], id_column: ColumnElement[Any], values: Sequence[Any]
) -> ColumnElement[bool]:
    """Rows strictly after the cursor in ``order_by`` order (NULLs sort last)."""
    *sort_values, last_id = values
    last_descending = keys[-1].descending if keys else False
    branches: list[ColumnElement[bool]] = []
    equal_so_far: list[ColumnElement[bool]] = []
    for key, value in zip(keys, sort_values, strict=True):
        column = key.field.column
        if value is None:
            after: ColumnElement[bool] = false()
            same = column.is_(None)
        else:
            after = column < value if key.descending else column > value
            if key.field.nullable:
                after = or_(after, column.is_(None))
            same = column == value
        branches.append(and_(*equal_so_far, after))
        equal_so_far.append(same)
    id_after = id_column < last_id if last_descending else id_column > last_id
    branches.append(and_(*equal_so_far, id_after))
    return or_(*branches)


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return value.hex
    return value


def encode_cursor(keys: Sequence[SortKey], row: Mapping[str, Any], row_id: Any) -> str:
    payload = {
        "s": ",".join(("-" if key.descending else "") + key.name for key in keys),
        "v": [_encode_value(row[key.label]) for key in keys] + [_encode_value(row_id)],
    }
    return base64.urlsafe_b64encode(orjson.dumps(payload)).rstrip(b"=").decode()


# Every integer a list sorts by (a version, a count) fits a signed 32-bit column; a cursor
# value outside it was not made here, and the database would refuse to bind it.
_CURSOR_INT_MIN, _CURSOR_INT_MAX = -(2**31), 2**31 - 1


def _decode_value(value: Any, kind: Kind) -> Any:
    """One sort value of a cursor, checked so that the database can take it: a value
    that fits the sort's type but not the column (an integer past 2^31, a time that falls
    outside the years 1-9999 in UTC, a NUL in text) raises ``ValueError`` like any other
    value that was not made here."""
    if value is None:
        return None
    if kind == "datetime" and isinstance(value, str):
        moment = datetime.fromisoformat(value)
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    if kind == "str" and isinstance(value, str) and "\x00" not in value:
        return value
    if kind == "int" and isinstance(value, int) and not isinstance(value, bool):
        if not _CURSOR_INT_MIN <= value <= _CURSOR_INT_MAX:
            raise ValueError("cursor value out of range")
        return value
    if kind == "float" and isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
        if not math.isfinite(number):
            raise ValueError("cursor value out of range")
        return number
    raise ValueError("cursor value of the wrong type")


def decode_cursor(token: str, keys: Sequence[SortKey]) -> list[Any]:
    """The sort values and id stored in a cursor; a cursor that does not fit is a 400."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        payload = orjson.loads(raw)
        expected = ",".join(("-" if key.descending else "") + key.name for key in keys)
        if not isinstance(payload, dict) or payload.get("s") != expected:
            raise ValueError("cursor made for another sort")
        values = payload["v"]
        if not isinstance(values, list) or len(values) != len(keys) + 1:
            raise ValueError("cursor of the wrong shape")
        decoded = [
            _decode_value(value, key.field.kind) for key, value in zip(keys, values, strict=False)
        ]
        decoded.append(uuid.UUID(hex=values[-1]))
        return decoded
    except (
        ValueError,
        TypeError,
        KeyError,
        AttributeError,
        OverflowError,
        binascii.Error,
    ) as exc:
        raise BadRequest("The cursor is not valid for this list; start again without one.") from exc


def next_link(url: URL, cursor: str) -> str:
    return f'<{url.include_query_params(cursor=cursor)}>; rel="next"'


# The page size goes in as a parameter, so that a list statement built once (see
# ``app.articles.queries``) serves every ``limit``.
PAGE_LIMIT = bindparam("page_limit", type_=Integer)


def page_query(
    query: Select[Any],
    keys: Sequence[SortKey],
    id_column: ColumnElement[Any],
    cursor: Sequence[Any] | None = None,
) -> Select[Any]:
    """``query`` in ``keys`` order, after the decoded ``cursor``, limited to ``page_limit``
    rows; ``query`` must select the id column as ``id``."""
    query = query.add_columns(*sort_columns(keys)).order_by(*order_by(keys, id_column))
    if cursor is not None:
        query = query.where(after_cursor(keys, id_column, cursor))
    return query.limit(PAGE_LIMIT)


async def fetch_page(
    session: Reader,
    query: Select[Any],
    *,
    keys: Sequence[SortKey],
    id_column: ColumnElement[Any],
    params: ListParams,
    values: Mapping[str, Any] | None = None,
    ordered: bool = False,
) -> tuple[list[Any], str | None]:
    """One page of ``query`` in ``keys`` order after ``params.cursor``, and the next cursor.
    ``query`` must select the id column as ``id``; ``ordered`` says it is a ``page_query``
    already (which then ignores the cursor), ``values`` are its other bound parameters."""
    if not ordered:
        cursor = decode_cursor(params.cursor, keys) if params.cursor else None
        query = page_query(query, keys, id_column, cursor)
    bound = {**(values or {}), "page_limit": params.limit + 1}
    rows = records(await session.execute(query, bound))
    if len(rows) <= params.limit:
        return rows, None
    last = rows[params.limit - 1]
    return rows[: params.limit], encode_cursor(keys, last._mapping, last.id)


async def count_rows(
    session: Reader, query: Select[Any], values: Mapping[str, Any] | None = None
) -> int:
    """The number of rows ``query`` selects; ``values`` are its bound parameters."""
    counted = select(func.count()).select_from(query.order_by(None).subquery())
    return int((await session.execute(counted, values)).scalar_one())
