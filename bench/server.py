"""``newsdesk serve`` as a subprocess, and what its processes use: resident memory sampled
from /proc, CPU time, and the CPU time of the PostgreSQL backends serving it."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

PORTS = range(18400, 18500)
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def free_port(ports: range = PORTS) -> int:
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {ports.start}-{ports.stop - 1}")


def newsdesk_command() -> str:
    beside = Path(sys.executable).with_name("newsdesk")
    return str(beside) if beside.exists() else "newsdesk"


def children(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                found += [int(child) for child in handle.read().split()]
    return found


def process_tree(root: int) -> list[int]:
    tree, pending = [], [root]
    while pending:
        pid = pending.pop()
        tree.append(pid)
        pending += children(pid)
    return tree


def rss_kb(pid: int) -> int:
    """Resident set size of one process, 0 once it has gone."""
    try:
        with open(f"/proc/{pid}/statm") as handle:
            return int(handle.read().split()[1]) * _PAGE_KB
    except (OSError, IndexError, ValueError):
        return 0


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of one process so far."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def demand_seconds(pid: int) -> float:
    """Time the process's threads have run or waited to run (from /proc/…/schedstat): on a
    busy machine a process with work to do may wait more than it runs, and it is not idle."""
    total = 0
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                with open(f"/proc/{pid}/task/{task}/schedstat") as handle:
                    running, waiting = handle.read().split()[:2]
                total += int(running) + int(waiting)
    return total / 1e9


def postgres_backends(database: str) -> list[int]:
    """Backends connected to ``database`` (their title is "postgres: … user database host")."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                title = handle.read().decode(errors="replace")
        except OSError:
            continue
        words = title.replace("\0", " ").split()
        if title.startswith("postgres:") and database in words:
            pids.append(int(entry))
    return pids


@dataclass
class Peak:
    tree_kb: int = 0
    process_kb: int = 0
    processes: int = 0

    def as_dict(self) -> dict[str, float]:
        return {
            "tree_mb": round(self.tree_kb / 1024, 1),
            "max_process_mb": round(self.process_kb / 1024, 1),
            "processes": self.processes,
        }


@dataclass
class MemorySampler:
    """Samples the resident memory of a process tree on a thread, ten times a second.
    ``peak`` holds the largest total and the largest single process since ``reset``."""

    root: int
    interval: float = 0.1
    peak: Peak = field(default_factory=Peak)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()

    def reset(self) -> Peak:
        with self._lock:
            last, self.peak = self.peak, Peak()
        return last

    def _run(self) -> None:
        pids = process_tree(self.root)
        refreshed = time.monotonic()
        while not self._stop.wait(self.interval):
            if time.monotonic() - refreshed > 2:
                pids, refreshed = process_tree(self.root), time.monotonic()
            sizes = [rss_kb(pid) for pid in pids]
            with self._lock:
                self.peak.tree_kb = max(self.peak.tree_kb, sum(sizes))
                self.peak.process_kb = max(self.peak.process_kb, max(sizes, default=0))
                self.peak.processes = max(self.peak.processes, sum(1 for s in sizes if s))


class Server:
    """``newsdesk serve`` in its own session, so that it and its workers stop together."""

    def __init__(
        self,
        database_url: str,
        *,
        workers: int,
        port: int,
        log_path: Path,
        log_level: str,
        environment: dict[str, str] | None = None,
    ) -> None:
        self.database_url = database_url
        self.environment = dict(environment or {})
        self.workers = workers
        self.port = port
        self.log_path = log_path
        self.log_level = log_level
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, ready_timeout: float = 60.0) -> None:
        env = dict(
            os.environ,
            NEWSDESK_DATABASE_URL=self.database_url,
            NEWSDESK_LOG_LEVEL=self.log_level,
            **self.environment,
        )
        command = [newsdesk_command(), "serve", "--host", "127.0.0.1"]
        command += ["--port", str(self.port), "--workers", str(self.workers)]
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            command, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"newsdesk serve exited with {self.process.returncode}; see {self.log_path}"
                )
            # Every worker process must exist before a measurement starts, not just one.
            if self._ready() and (self.workers == 1 or len(children(self.pid)) >= self.workers):
                time.sleep(0 if self.workers == 1 else 2)
                return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"newsdesk serve was not ready within {ready_timeout:g} s")

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(self.base_url + "/readyz", timeout=2) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def worker_pids(self) -> list[int]:
        """The processes that serve requests: the server itself with one worker, else its
        children (uvicorn's supervisor only watches them)."""
        if self.workers == 1:
            return [self.pid]
        return children(self.pid)

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self._log:
            self._log.close()
        self.process = None
