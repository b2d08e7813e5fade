"""A real ``newsdesk serve`` in a subprocess, on a migrated and seeded SQLite file, for
tests that need a server on a port: a browser, several workers; a wheel built from the
tree, installed in a virtual environment of its own, for tests of what a user installs; and
a PostgreSQL server of a test's own, to stop and start under a running service."""

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from app.db import create_engine, make_sessionmaker, make_write_sessionmaker
from app.demo.load import load_demo
from app.instance import load_instance_secret
from app.schema import upgrade

# Ports the test servers may take; CI machines shared with other jobs can narrow it.
PORT_RANGE_ENV = "NEWSDESK_TEST_PORTS"
DEFAULT_PORT_RANGE = "18300-18399"


def newsdesk_command() -> str:
    """The ``newsdesk`` script installed beside this Python."""
    beside = Path(sys.executable).with_name("newsdesk")
    found = str(beside) if beside.exists() else shutil.which("newsdesk")
    assert found, "the newsdesk command is not installed (pip install -e .)"
    return found


def free_port() -> int:
    first, _, last = os.environ.get(PORT_RANGE_ENV, DEFAULT_PORT_RANGE).partition("-")
    for port in range(int(first), int(last or first) + 1):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {PORT_RANGE_ENV}={first}-{last}")


@dataclass
class Server:
    url: str
    log: Path
    env: dict[str, str]
    process: "subprocess.Popen[bytes] | None" = None

    def log_lines(self) -> list[str]:
        return self.log.read_text(encoding="utf-8").splitlines()


def migrated_and_seeded(url: str) -> None:
    """What `newsdesk migrate` and `newsdesk seed` do, without two slow process starts."""

    async def seed() -> None:
        engine = create_engine(url)
        try:
            # As every `newsdesk` command does first: tags are keyed with this database's secret.
            async with make_sessionmaker(engine)() as session:
                await load_instance_secret(session)
            await load_demo(make_write_sessionmaker(engine))
        finally:
            await engine.dispose()

    upgrade(url)
    asyncio.run(seed())


@contextmanager
def running_server(
    folder: Path,
    *,
    extra_env: dict[str, str] | None = None,
    args: tuple[str, ...] = (),
    database_url: str | None = None,
    command: str | None = None,
    plain_uvicorn: bool = False,
) -> Iterator[Server]:
    """A server on ``database_url`` as it is, or on a new seeded SQLite file in ``folder``.

    ``command`` is the ``newsdesk`` script of another installation (a wheel in a virtual
    environment of its own); it then runs without ``PYTHONPATH``, on what it installed.
    ``plain_uvicorn`` runs the app with ``uvicorn`` itself rather than ``newsdesk serve``,
    which would refuse to start while the database is away."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("NEWSDESK_")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    if command is not None:
        env.pop("PYTHONPATH", None)
    url = database_url or f"sqlite:///{folder / 'server.db'}"
    env |= {"NEWSDESK_DATABASE_URL": url} | (extra_env or {})
    if database_url is None:
        migrated_and_seeded(url)
    port = free_port()
    log = folder / f"server-{port}.log"
    if plain_uvicorn:
        argv = [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory"]
    else:
        argv = [command or newsdesk_command(), "serve"]
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*argv, "--host", "127.0.0.1", "--port", str(port), *args],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"newsdesk serve exited:\n{log.read_text()}")
            try:
                if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"newsdesk serve did not answer:\n{log.read_text()}")
            time.sleep(0.2)
        yield Server(base_url, log, env, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def postgres_bin() -> Path | None:
    """The folder of the newest PostgreSQL server binaries installed here (Debian's layout,
    or NEWSDESK_TEST_PG_BIN)."""
    given = os.environ.get("NEWSDESK_TEST_PG_BIN")
    if given:
        return Path(given)
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parent.parent.name)
    )
    return found[-1].parent if found else None


class ThrowawayPostgres:
    """A PostgreSQL server in a temporary folder, on a free port of the test range, that a
    test may stop and start at will: never the shared server other tests use. As root it
    runs as the ``postgres`` user, since PostgreSQL refuses to run as root."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        # Not under pytest's folders: the postgres user must be able to reach it.
        self.folder = Path(tempfile.mkdtemp(prefix="newsdesk-pg-"))
        self.data = self.folder / "data"
        self.as_owner: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.folder, user="postgres", group="postgres")
            self.as_owner = ["runuser", "-u", "postgres", "--"]
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        self.port = free_port()
        self.start()

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run(
            [*self.as_owner, str(self.bin_dir / tool), *args],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def start(self) -> None:
        """Start and wait until it accepts connections."""
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
        log = str(self.folder / "server.log")
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", log, "-w", "start")

    def stop(self, mode: str = "immediate") -> None:
        """Stop at once by default: connections are cut as in a crash (WAL replays on start)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self, name: str) -> str:
        """A new empty database; its URL."""
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        return self.url(name)

    def close(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop("fast")
        shutil.rmtree(self.folder, ignore_errors=True)


ROOT = Path(__file__).resolve().parents[1]
# What a wheel is built from: the files the Dockerfile copies, nothing else.
SOURCES = ("pyproject.toml", "README.md", "app", "migrations")


def run_without_tree(*command: str | Path, cwd: Path) -> str:
    """Run a command without PYTHONPATH, which may point at the tree: a wheel must stand
    on its own. Its output; a failure fails the test."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    result = subprocess.run(
        [str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _build_wheel(folder: Path) -> Path:
    source = folder / "source"
    source.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "static")
            shutil.copytree(ROOT / name, source / name, ignore=ignore)
        else:
            shutil.copy2(ROOT / name, source / name)
    # No build isolation: the build backend comes with the dev tools, so no network.
    pip = (sys.executable, "-m", "pip", "--disable-pip-version-check")
    run_without_tree(
        *pip, "wheel", ".", "--no-deps", "--no-build-isolation", "-w", folder, cwd=source
    )
    (wheel,) = folder.glob("newsdesk-*.whl")
    return wheel


def _install(wheel: Path, folder: Path) -> Path:
    """A fresh virtual environment holding the wheel; its dependencies are taken from this
    environment's site-packages (a .pth file) rather than downloaded again."""
    venv = folder / "venv"
    run_without_tree(sys.executable, "-m", "venv", "--without-pip", venv, cwd=folder)
    python = venv / "bin" / "python"
    site_packages = Path(
        run_without_tree(
            python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=folder
        ).strip()
    )
    (site_packages / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    pip = (sys.executable, "-m", "pip", "--disable-pip-version-check", "--python", python)
    run_without_tree(*pip, "install", "--no-deps", "--no-index", wheel, cwd=folder)
    return venv


def installed_wheel(folder: Path) -> Path:
    """A wheel built from the tree, installed in a virtual environment of its own in
    ``folder``; pass its ``bin/newsdesk`` to ``running_server`` to serve it."""
    return _install(_build_wheel(folder), folder)
