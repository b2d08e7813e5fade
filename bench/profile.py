"""Where a worker's time goes: ``py-spy record`` on the server while wrk drives one
scenario, summarised from py-spy's collapsed stacks by inclusive and by own time."""

import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

INSTALL_HINT = "py-spy is not installed: .venv/bin/pip install py-spy"


def py_spy_path() -> str | None:
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


@dataclass
class ProfileSummary:
    samples: int
    inclusive: list[tuple[str, float]]
    own: list[tuple[str, float]]
    areas: list[tuple[str, float]]
    raw_path: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "samples": self.samples,
            "app_inclusive_percent": self.inclusive,
            "own_percent": self.own,
            "areas_percent": self.areas,
            "collapsed_stacks": self.raw_path,
        }


def start(pid: int, seconds: float, output: Path, *, subprocesses: bool) -> subprocess.Popen[str]:
    """Start sampling ``pid`` (and its children) for ``seconds`` into a collapsed-stack file."""
    executable = py_spy_path()
    if executable is None:
        raise RuntimeError(INSTALL_HINT)
    command = [executable, "record", "--pid", str(pid), "--duration", str(int(seconds))]
    command += ["--rate", "200", "--format", "raw", "--output", str(output), "--nonblocking"]
    if subprocesses:
        command.append("--subprocesses")
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _frame_name(frame: str) -> str:
    """``handle (app/articles/service.py:120)`` → ``app/articles/service.py:handle``."""
    function, _, location = frame.partition(" (")
    path = location.rstrip(")").rsplit(":", 1)[0]
    for marker in ("/site-packages/", "/lib/python3.11/", "/work/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{path}:{function.strip()}"


# Buckets for a one-line answer to "where does the time go"; the first match wins, looking
# from the innermost frame outwards.
_AREAS = (
    ("database driver (asyncpg / sqlite3)", ("asyncpg/", "aiosqlite/", "sqlite3/")),
    ("SQLAlchemy (compile, execute, rows)", ("sqlalchemy/",)),
    ("JSON encoding (orjson)", ("orjson",)),
    ("pydantic", ("pydantic",)),
    ("app code", ("app/",)),
    ("FastAPI routing and dependencies", ("fastapi/",)),
    ("Starlette and uvicorn (HTTP, ASGI)", ("starlette/", "uvicorn/", "h11/", "httptools/")),
    ("asyncio event loop", ("asyncio/", "uvloop/")),
)


# Frames every sample passes through on its way to the app (the command line, uvicorn's
# start-up, the event loop): left out of the inclusive list, where they would top it.
_PLUMBING = (
    "typer/",
    "click/",
    "newsdesk:",
    "<string>:",
    "app/cli.py:",
    "uvicorn/main.py:",
    "uvicorn/server.py:",
    "uvicorn/_compat.py:",
    "uvicorn/supervisors/",
    "multiprocessing/",
    "asyncio/runners.py:",
    "asyncio/base_events.py:",
    "asyncio/events.py:",
)


def _area(frames: list[str]) -> str:
    for frame in reversed(frames):
        for name, markers in _AREAS:
            if any(marker in frame for marker in markers):
                return name
    return "other"


# Innermost frames of threads that only wait (py-spy cannot always tell them from busy
# ones): the thread pool's idle workers, mostly; a worker of ``asyncio.to_thread`` waiting
# for its next job shows as its loop's own frame.
_WAITING = (
    "threading.py:Condition.wait",
    "threading.py:Event.wait",
    "selectors.py:",
    "concurrent/futures/thread.py:_worker",
)
# The app's own outermost wrapper: every request passes through it.
_WRAPPERS = ("app/middleware.py:",)


def summarise(raw_path: Path, top: int = 25) -> ProfileSummary:
    """Shares of the samples in which a thread was busy: by area (the innermost frame
    that belongs to a known layer), by own time, and by inclusive time of the app's own
    functions (where the request spends its time in the project's code)."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    areas: Counter[str] = Counter()
    total = 0
    for line in raw_path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_frame_name(frame) for frame in stack.split(";") if "(" in frame]
        if not frames or frames[-1].startswith(_WAITING):
            continue
        total += count
        for name in set(frames):
            if name.startswith("app/") and not name.startswith(_WRAPPERS + _PLUMBING):
                inclusive[name] += count
        own[frames[-1]] += count
        areas[_area(frames)] += count

    def percent(counter: Counter[str], limit: int) -> list[tuple[str, float]]:
        return [(name, round(100 * n / total, 1)) for name, n in counter.most_common(limit)]

    return ProfileSummary(
        samples=total,
        inclusive=percent(inclusive, top),
        own=percent(own, top),
        areas=percent(areas, len(_AREAS) + 1),
        raw_path=str(raw_path),
    )


def render(summary: ProfileSummary, top: int = 20) -> str:
    if not summary.samples:
        return "py-spy recorded no samples."
    lines = [f"Profile: {summary.samples:,} samples ({summary.raw_path})", "", "By area:"]
    lines += [f"  {share:5.1f}%  {name}" for name, share in summary.areas]
    lines += ["", "Own time (innermost frame):"]
    lines += [f"  {share:5.1f}%  {name}" for name, share in summary.own[:top]]
    lines += ["", "Inclusive time of the app's own functions:"]
    lines += [f"  {share:5.1f}%  {name}" for name, share in summary.inclusive[:top]]
    return "\n".join(lines)
