"""The ``newsdesk`` command."""

import asyncio
import os
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import ExitStack, asynccontextmanager, contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, BinaryIO, TypeVar

import typer
from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import get_settings
from app.db import (
    create_engine,
    is_connection_error,
    make_sessionmaker,
    make_write_sessionmaker,
)
from app.instance import load_instance_secret
from app.keys.models import Role
from app.schema import NotMigrated, ensure_migrated, upgrade

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID

    from app.articles.transfer import LineError

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
                # What the command does may make an ETag, keyed with the instance secret.
                async with make_sessionmaker(engine)() as session:
                    await load_instance_secret(session)
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
    workers: Annotated[
        int | None,
        typer.Option(help="Worker processes [default: NEWSDESK_WORKERS, or 1].", min=1),
    ] = None,
) -> None:
    """Run the API with uvicorn; refuses a database that is not migrated."""
    import uvicorn

    from app.logs import logging_config

    async def nothing_more(_engine: AsyncEngine) -> None:
        """``_run`` itself checks that the database answers and is migrated."""

    _run(nothing_more)
    settings = get_settings()
    workers = workers or settings.workers
    with _metrics_folder(workers):
        uvicorn.run(
            "app.main:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=settings.log_level,
            log_config=logging_config(settings.log_level),
            access_log=False,
            # The client address (rate limits, logs) comes from X-Forwarded-For only when
            # the peer is a proxy the operator named (README, "Security").
            proxy_headers=bool(settings.forwarded_allow_ips),
            forwarded_allow_ips=settings.forwarded_allow_ips or None,
            # On SIGTERM: stop accepting, let requests under way finish, then exit.
            timeout_graceful_shutdown=settings.shutdown_grace_seconds,
            server_header=False,
            # A worker answers the supervisor's pings only once Python has started it; on a
            # small container that can take longer than uvicorn's default of 5 seconds.
            timeout_worker_healthcheck=30,
        )


@contextmanager
def _metrics_folder(workers: int) -> Iterator[None]:
    """With several workers, a folder where each one keeps its metrics, so that a scrape
    answered by any of them counts the requests of all (prometheus-client's multiprocess
    mode). A folder given in PROMETHEUS_MULTIPROC_DIR is used, after emptying it of an
    earlier run's files; otherwise a new one is made and removed on exit."""
    from app.metrics import MULTIPROC_ENV

    given = os.environ.get(MULTIPROC_ENV)
    if given:
        Path(given).mkdir(parents=True, exist_ok=True)
        for stale in Path(given).glob("*.db"):
            stale.unlink()
        yield
        return
    if workers == 1:
        yield
        return
    folder = tempfile.mkdtemp(prefix="newsdesk-metrics-")
    os.environ[MULTIPROC_ENV] = folder
    try:
        yield
    finally:
        os.environ.pop(MULTIPROC_ENV, None)
        shutil.rmtree(folder, ignore_errors=True)


@cli.command()
def worker() -> None:
    """Send webhook deliveries, for deployments that run `newsdesk serve` with
    NEWSDESK_WEBHOOK_SENDER=false; run as many as you like (each delivery has one sender at
    a time). Stops on SIGINT or SIGTERM."""
    import logging.config
    import signal

    from app.db import make_sessionmaker
    from app.freshness.feed import read_change_entries
    from app.logs import logging_config
    from app.webhooks.dispatcher import reading_entries
    from app.webhooks.runner import WebhookRunner

    settings = get_settings()
    logging.config.dictConfig(logging_config(settings.log_level))

    async def action(engine: AsyncEngine) -> None:
        runner = WebhookRunner(
            sessionmaker=make_sessionmaker(engine),
            write_sessionmaker=make_write_sessionmaker(engine),
            settings=settings,
            read_changes=reading_entries(read_change_entries),
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for stopping_signal in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(stopping_signal, stop.set)
        runner.start()
        typer.echo("Sending webhook deliveries; stop with Ctrl-C.", err=True)
        try:
            await stop.wait()
        finally:
            await runner.close()

    _run(action)


@cli.command()
def seed() -> None:
    """Load the demo data: the worked example and a few more stories (idempotent)."""
    from app.demo.load import load_demo

    async def action(engine: AsyncEngine) -> dict[str, int]:
        return await load_demo(make_write_sessionmaker(engine))

    added = _run(action)
    summary = ", ".join(f"{count} {kind}" for kind, count in added.items())
    typer.echo(f"Demo data loaded ({summary} added).")


@cli.command("export")
def export_articles(
    file: Annotated[
        Path | None,
        typer.Argument(help="Where to write; standard output when left out.", dir_okay=False),
    ] = None,
) -> None:
    """Write every article not in the trash as NDJSON, one a line, ordered by slug."""
    from app.articles.transfer import export_lines

    show_progress = sys.stderr.isatty() and (file is not None or not sys.stdout.isatty())

    with ExitStack() as stack:
        try:
            out = stack.enter_context(_output(file))
        except OSError as exc:
            _fail(f"Cannot write {file}: {exc.strerror or exc}.")

        async def action(engine: AsyncEngine) -> int:
            written = 0
            async with make_sessionmaker(engine)() as session:
                with _progress(show_progress, "Exporting", None) as bar:
                    on_total = bar.set_total if show_progress else None
                    async for lines in export_lines(session, on_total=on_total):
                        out.writelines(lines)
                        written += len(lines)
                        bar.advance(len(lines))
            return written

        written = _run(action)
    where = f"to {file}" if file is not None else "to standard output"
    typer.echo(f"Exported {written} article{'s' if written != 1 else ''} {where}.", err=True)


@cli.command("import")
def import_articles(
    file: Annotated[
        Path,
        typer.Argument(
            help="NDJSON file, as `newsdesk export` writes it; - for standard input.",
            dir_okay=False,
            allow_dash=True,
        ),
    ],
) -> None:
    """Create or update articles from NDJSON, matched by slug; exits with 1 if any line
    failed (each one is reported with its line number; the others are imported)."""
    from app.articles.transfer import ImportReport, LineError, import_lines

    from_stdin = str(file) == "-"
    if not from_stdin and not file.is_file():
        _fail(f"No file at {file}.")
    show_progress = sys.stderr.isatty()
    # A file's progress is the bytes read; standard input's, the lines.
    total = None if from_stdin else file.stat().st_size
    unit = "lines" if total is None else "bytes"

    with ExitStack() as stack:
        try:
            stream = stack.enter_context(_input(file))
        except OSError as exc:
            _fail(f"Cannot read {file}: {exc.strerror or exc}.")

        async def action(engine: AsyncEngine) -> ImportReport:
            with _progress(show_progress, "Importing", total, unit=unit) as bar:
                done = 0

                def batch_done(report: ImportReport, errors: list[LineError]) -> None:
                    nonlocal done
                    for error in errors:
                        _report_line_error(error, show_progress)
                    position = stream.tell() if total is not None else report.lines
                    bar.advance(position - done)
                    done = position

                lines = enumerate(stream, start=1)
                sessionmaker = make_write_sessionmaker(engine)
                return await import_lines(sessionmaker, lines, on_batch=batch_done)

        report = _run(action)
    typer.echo(
        f"Imported {file}: {report.created} created, {report.updated} updated, "
        f"{report.unchanged} unchanged, {len(report.errors)} failed."
    )
    if report.errors:
        raise typer.Exit(code=1)


@lru_cache
def _stderr_console() -> "Console":
    from rich.console import Console

    return Console(stderr=True)


def _report_line_error(error: "LineError", on_terminal: bool) -> None:
    message = f"line {error.line}: {error.message}"
    if on_terminal:
        # Through the progress bar's console, which keeps the bar below the messages.
        _stderr_console().print(message, style="red", markup=False, highlight=False)
    else:
        typer.echo(message, err=True)


class _Bar:
    """What a command tells its progress bar; a bar that shows nothing off a terminal."""

    def __init__(self, progress: "Progress | None" = None, task: "TaskID | None" = None) -> None:
        self.progress = progress
        self.task = task

    def advance(self, count: int) -> None:
        if self.progress is not None and self.task is not None:
            self.progress.advance(self.task, count)

    def set_total(self, total: int) -> None:
        if self.progress is not None and self.task is not None:
            self.progress.update(self.task, total=total)


@contextmanager
def _progress(
    enabled: bool, label: str, total: int | None, *, unit: str = "articles"
) -> Iterator[_Bar]:
    """A rich progress bar on standard error when it is a terminal; nothing otherwise."""
    if not enabled:
        yield _Bar()
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    counter = DownloadColumn() if unit == "bytes" else MofNCompleteColumn()
    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        counter,
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=_stderr_console()) as progress:
        yield _Bar(progress, progress.add_task(label, total=total))


@contextmanager
def _output(file: Path | None) -> Iterator[BinaryIO]:
    """Standard output, or a file that appears complete or not at all."""
    if file is None:
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    partial = file.with_name(f".{file.name}.partial")
    try:
        with partial.open("wb") as out:
            yield out
        partial.replace(file)
    finally:
        partial.unlink(missing_ok=True)


@contextmanager
def _input(file: Path) -> Iterator[BinaryIO]:
    if str(file) == "-":
        yield sys.stdin.buffer
        return
    with file.open("rb") as stream:
        yield stream


@cli.command("openapi")
def write_openapi(
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Where to write; standard output when left out.", dir_okay=False
        ),
    ] = None,
) -> None:
    """Print the OpenAPI document (JSON) for generating clients; needs no database."""
    import json

    from app.config import Settings
    from app.main import create_app

    document = create_app(Settings()).openapi()
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    try:
        with _output(output) as out:
            out.write(text.encode())
    except OSError as exc:
        _fail(f"Cannot write {output}: {exc.strerror or exc}.")
    if output is not None:
        typer.echo(f"OpenAPI document written to {output}.", err=True)


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
    try:
        get_settings()
    except ValidationError as exc:
        # One line per refused setting, without its value (it may be a secret).
        lines = [
            f"NEWSDESK_{'_'.join(map(str, error['loc'])).upper()}: "
            + error["msg"].removeprefix("Value error, ")
            for error in exc.errors()
        ]
        typer.secho("Settings refused:\n" + "\n".join(lines), fg=typer.colors.RED, err=True)
        raise SystemExit(2) from None
    cli()


if __name__ == "__main__":
    main()
