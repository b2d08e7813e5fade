"""The ``newsdesk`` command."""

import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, TypeVar

import typer
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import get_settings
from app.db import create_engine, make_write_sessionmaker
from app.errors import is_connection_error
from app.keys.models import Role
from app.schema import NotMigrated, ensure_migrated, upgrade

T = TypeVar("T")

cli = typer.Typer(
    help="Newsdesk: a headless news-content API.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
keys_cli = typer.Typer(help="Manage API keys.", no_args_is_help=True)
cli.add_typer(keys_cli, name="keys")


def _fail(message: str) -> None:
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(code=1)


@asynccontextmanager
async def _engine() -> AsyncIterator[AsyncEngine]:
    settings = get_settings()
    engine = create_engine(settings.database_url, pool_size=2)
    try:
        yield engine
    finally:
        await engine.dispose()


def _run(action: Callable[[AsyncEngine], Awaitable[T]], *, needs_schema: bool = True) -> T:
    """Run an async action against the configured database, failing with a clear message."""

    async def main() -> T:
        async with _engine() as engine:
            if needs_schema:
                await ensure_migrated(engine)
            return await action(engine)

    try:
        return asyncio.run(main())
    except NotMigrated as exc:
        _fail(str(exc))
    except Exception as exc:
        if is_connection_error(exc):
            _fail(f"Cannot reach the database at {_safe_url()}: {type(exc).__name__}.")
        raise
    raise AssertionError("unreachable")


def _safe_url() -> str:
    return make_url(get_settings().database_url).render_as_string(hide_password=True)


@cli.command()
def migrate() -> None:
    """Bring the database to the newest migration (safe to run again)."""
    try:
        upgrade(get_settings().database_url)
    except Exception as exc:
        if is_connection_error(exc):
            _fail(f"Cannot reach the database at {_safe_url()}: {type(exc).__name__}.")
        raise
    typer.echo(f"Database at {_safe_url()} is migrated.")


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.", min=1)] = 1,
) -> None:
    """Run the API with uvicorn; refuses a database that is not migrated."""
    import uvicorn

    async def nothing_more(_engine: AsyncEngine) -> None:
        """``_run`` itself checks that the database answers and is migrated."""

    _run(nothing_more)
    settings = get_settings()
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=settings.log_level,
        proxy_headers=True,
        server_header=False,
    )


@cli.command()
def seed() -> None:
    """Load the demo data: the worked example and a few more stories (idempotent)."""
    from app.demo.load import load_demo

    async def action(engine: AsyncEngine) -> dict[str, int]:
        return await load_demo(make_write_sessionmaker(engine))

    added = _run(action)
    summary = ", ".join(f"{count} {kind}" for kind, count in added.items())
    typer.echo(f"Demo data loaded ({summary} added).")


@keys_cli.command("create")
def create_key(
    role: Annotated[Role, typer.Option(help="editor or admin.")],
    name: Annotated[str, typer.Option(help="Who or what uses the key.")],
) -> None:
    """Create a key and print its secret, which is shown this once."""
    from app.keys.service import create_key as store_key

    async def action(engine: AsyncEngine) -> str:
        async with make_write_sessionmaker(engine)() as session:
            created = await store_key(session, name=name, role=role)
        return str(created["key"])

    secret = _run(action)
    typer.echo(secret)
    if sys.stderr.isatty():
        typer.secho("Store it now: it cannot be shown again.", err=True, fg=typer.colors.YELLOW)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
