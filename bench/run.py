"""The benchmark: build (or reuse) the corpus, start ``newsdesk serve``, drive wrk through
every scenario, print a table and write the same figures as JSON.

    python -m bench.run                                  # PostgreSQL newsdesk_bench, 1 worker
    python -m bench.run --workers 1,2                    # and the 2-worker scale factor
    python -m bench.run --database-url sqlite:///bench/results/newsdesk_bench.db
    python -m bench.run --reuse --scenarios story,search --profile story,search

Each scenario runs ``--runs`` times (median reported) after a warm-up; the runs go round
the scenarios in turn, so that a burst of other work on the machine spreads over all of
them instead of spoiling one. Benchmarks print figures; nothing here asserts anything.
"""

import argparse
import asyncio
import json
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import func, select, update
from sqlalchemy import text as sql_text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from app.articles.models import article_entities_table, articles_table, publicly_visible
from app.db import async_url, create_engine, utcnow
from app.entities.models import entities_table as entities
from app.schema import current_revision, head_revision
from bench import corpus as corpus_module
from bench import profile as profiler
from bench import wrk
from bench.server import (
    MemorySampler,
    Server,
    cpu_seconds,
    demand_seconds,
    free_port,
    postgres_backends,
)
from bench.statements import count_statements
from bench.wrk import HttpRequest

LONG_COMMANDS: dict[str, Any] = {"command_timeout": 600}
RESULTS_DIR = Path(__file__).resolve().parent / "results"
EDITOR_KEY_NAME = "bench writer"


@dataclass(frozen=True)
class Goal:
    """A target from the issue: a share of the ceiling's req/s, a p99 bound, or a number
    of requests a second (on PostgreSQL, and on SQLite where it differs)."""

    ratio: float | None = None
    p99_ms: float | None = None
    rps: float | None = None
    sqlite_rps: float | None = None

    def _rps(self, backend: str) -> float | None:
        return self.sqlite_rps if backend == "sqlite" and self.sqlite_rps else self.rps

    def describe(self, backend: str) -> str:
        parts = []
        if self.ratio is not None:
            parts.append(f">= {self.ratio:.0%}")
        if (rps := self._rps(backend)) is not None:
            parts.append(f">= {rps:g}/s")
        if self.p99_ms is not None:
            parts.append(f"p99 < {self.p99_ms:g} ms")
        return ", ".join(parts)

    def met(self, backend: str, ratio: float | None, rps: float, p99_ms: float) -> bool | None:
        if self.ratio is not None and ratio is None:
            return None
        wanted_rps = self._rps(backend)
        return (
            (self.ratio is None or (ratio is not None and ratio >= self.ratio))
            and (wanted_rps is None or rps >= wanted_rps)
            and (self.p99_ms is None or p99_ms < self.p99_ms)
        )


@dataclass(frozen=True)
class ScenarioSpec:
    key: str
    title: str
    goal: Goal | None = None
    # wrk -c for this scenario, when not the run's --connections.
    connections: int | None = None
    # Measured against a second server started with NEWSDESK_RESPONSE_CACHE_BYTES=0, next
    # to that server's own /healthz ceiling: what the engine does under the cache.
    cache_off: bool = False

    @property
    def ceiling_key(self) -> str:
        return "ceiling_nocache" if self.cache_off else "ceiling"


SCENARIOS = (
    ScenarioSpec("ceiling", "ceiling: GET /healthz"),
    ScenarioSpec("story", "one story by slug", Goal(0.50)),
    ScenarioSpec("newest", "20 newest", Goal(0.40)),
    ScenarioSpec("entity", "list filtered by entity", Goal(0.35)),
    ScenarioSpec("search", "search ?q=", Goal(0.20, 50.0)),
    ScenarioSpec("feed", "Atom feed"),
    ScenarioSpec("not_modified", "conditional GET -> 304"),
    ScenarioSpec("patch", "PATCH standfirst (editor)"),
    ScenarioSpec("longtail", "long tail: every story by slug, shuffled"),
    ScenarioSpec("longtail_drafts", "long tail, one draft saved a second"),
    ScenarioSpec(
        "patch8",
        "PATCH, 8 editors saving different stories",
        Goal(rps=200, sqlite_rps=100),
        connections=8,
    ),
    ScenarioSpec("ceiling_nocache", "ceiling: GET /healthz (cache-off server)", cache_off=True),
    ScenarioSpec(
        "story_nocache",
        "one story by slug, cache off, all stories shuffled",
        Goal(0.40),
        cache_off=True,
    ),
    ScenarioSpec("newest_nocache", "20 newest, cache off", Goal(0.35), cache_off=True),
    # What a CDN's or a browser's revalidation of a story costs when no worker kept it.
    ScenarioSpec(
        "not_modified_nocache",
        "conditional GET -> 304, cache off, 1,000 stories",
        cache_off=True,
    ),
    ScenarioSpec(
        "search_nocache", "search ?q=, cache off, 100 terms", Goal(0.20, 50.0), cache_off=True
    ),
    # The same searches one at a time: what one search takes, not the time it waits behind
    # 31 others (with 32 connections, a p99 under 50 ms needs over 640 searches a second).
    ScenarioSpec(
        "search_latency_nocache",
        "search ?q=, cache off, 100 terms, 1 connection",
        Goal(None, 50.0),
        connections=1,
        cache_off=True,
    ),
    # The bound: each answers uncached in under 200 ms at a million stories. One
    # connection, so that the latency is the answer's own time, not time queued behind
    # 31 others.
    ScenarioSpec(
        "news_sitemap_nocache",
        "Google News sitemap (1,000 stories), cache off, 1 connection",
        Goal(None, 200.0),
        connections=1,
        cache_off=True,
    ),
    ScenarioSpec(
        "month_sitemap_nocache",
        "this month's sitemap, cache off, 1 connection",
        Goal(None, 200.0),
        connections=1,
        cache_off=True,
    ),
)
SITEMAP_KEYS = {"news_sitemap_nocache", "month_sitemap_nocache"}
# The servers give stories page URLs, as a site would, so that sitemaps list them all.
SITE = {"NEWSDESK_ARTICLE_URL_TEMPLATE": "https://www.example.com/{section}/{yyyy}/{mm}/{slug}"}
NEWS_STORIES = 1_000
SPECS = {spec.key: spec for spec in SCENARIOS}
RSS_GOAL_MB = 120
NO_CACHE = {"NEWSDESK_RESPONSE_CACHE_BYTES": "0"}


@dataclass
class Scenario:
    spec: ScenarioSpec
    requests: list[HttpRequest]
    # For PATCH: a fresh set of requests per wrk run, so every request changes something.
    per_run: Any = None
    unsupported: str | None = None
    statements: dict[str, Any] | None = None
    # Work that goes on while the scenario runs (an editor saving a draft).
    during: Any = None


@dataclass
class Workload:
    stories: list[str]
    # Every visible story, shuffled: the long tail of archive and search-engine readers.
    all_stories: list[str]
    entities: list[str]
    terms: list[str]
    articles: int
    # Every published story, shuffled: the long tail of archive readers and crawlers.
    every_story: list[str] = field(default_factory=list)


@dataclass
class Measurement:
    runs: list[wrk.WrkResult] = field(default_factory=list)
    memory: dict[str, float] = field(default_factory=dict)
    server_cpu: list[float] = field(default_factory=list)
    database_cpu: list[float] = field(default_factory=list)

    def median(self, pick: Any) -> float:
        values = [pick(run) for run in self.runs]
        return float(statistics.median(values)) if values else 0.0

    @property
    def rps(self) -> float:
        return self.median(lambda run: run.requests_per_second)

    @property
    def p50(self) -> float:
        return self.median(lambda run: run.latency_ms.get("p50", 0.0))

    @property
    def p99(self) -> float:
        return self.median(lambda run: run.latency_ms.get("p99", 0.0))

    @property
    def errors(self) -> int:
        return sum(run.errors for run in self.runs)


# Workload ---------------------------------------------------------------------------


def _pick_terms(texts: list[str], count: int, seed: int) -> list[str]:
    """``count`` words of the stories' text, from common to rare. Words in more than half
    of the sampled stories are left out, like the words a search box user never types."""
    document_frequency: Counter[str] = Counter()
    for text in texts:
        document_frequency.update(set(re.findall(r"[a-z]{4,}", text.lower())))
    ceiling = len(texts) // 2
    ranked = [word for word, n in document_frequency.most_common() if 2 <= n <= ceiling]
    picker = random.Random(seed)
    terms: list[str] = []
    for low, high, share in ((0, 200, 0.3), (200, 1500, 0.5), (1500, len(ranked), 0.2)):
        band = ranked[low:high]
        wanted = count - len(terms) if high == len(ranked) else round(count * share)
        terms += picker.sample(band, min(wanted, len(band)))
    return terms


async def _discover(database_url: str, seed: int) -> Workload:
    """Stories, entities and search terms to rotate over, taken from the database itself
    (ordered by id, which is random, so the choice is fixed for a given corpus)."""
    # Every visible slug is a scan of the whole table: at a million stories longer than
    # the app's 30 s command timeout on a busy machine.
    target = async_url(database_url)
    patience = LONG_COMMANDS if target.get_backend_name() == "postgresql" else {}
    engine = create_async_engine(target, connect_args=patience)
    articles = articles_table
    visible = publicly_visible(utcnow())
    try:
        async with engine.connect() as connection:
            total = (await connection.execute(select(func.count()).select_from(articles))).scalar()
            stories = (
                await connection.execute(
                    select(articles.c.slug).where(visible).order_by(articles.c.id).limit(1000)
                )
            ).scalars()
            tagged = (
                select(article_entities_table.c.entity_id)
                .join(articles, articles.c.id == article_entities_table.c.article_id)
                .where(visible)
            )
            entity_slugs = (
                await connection.execute(
                    select(entities.c.slug)
                    .where(entities.c.id.in_(tagged))
                    .order_by(entities.c.id)
                    .limit(200)
                )
            ).scalars()
            everything = list(
                (await connection.execute(select(articles.c.slug).where(visible))).scalars()
            )
            random.Random(seed).shuffle(everything)
            texts = (
                await connection.execute(
                    select(articles.c.body_text).where(visible).order_by(articles.c.id).limit(500)
                )
            ).scalars()
            return Workload(
                stories=list(stories),
                all_stories=everything,
                entities=list(entity_slugs),
                terms=_pick_terms(list(texts), 100, seed),
                articles=int(total or 0),
                every_story=everything,
            )
    finally:
        await engine.dispose()


async def _bring_news_up_to_date(database_url: str) -> int:
    """The corpus lies in a fixed past, so no story is news: give the 1,000 newest
    published stories times in the last 42 hours (newest first, 150 s apart), so that the
    news sitemap is full and this month's sitemap has them. Runs before every benchmark
    with a sitemap scenario, so a reused corpus is brought up to date again."""
    engine = create_engine(database_url, pool_size=1)
    articles = articles_table
    now = utcnow()
    try:
        async with engine.begin() as connection:
            newest = (
                await connection.execute(
                    select(articles.c.id)
                    .where(publicly_visible(now))
                    .order_by(articles.c.published_at.desc(), articles.c.id.desc())
                    .limit(NEWS_STORIES)
                )
            ).scalars()
            ids = list(newest)
            for position, article_id in enumerate(ids):
                moment = now - timedelta(seconds=60 + 150 * position)
                await connection.execute(
                    update(articles)
                    .where(articles.c.id == article_id)
                    .values(published_at=moment, updated_at=moment, expires_at=None)
                )
        # As after loading the corpus: fresh statistics and no dead rows for the scans.
        async with engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            vacuum = "VACUUM ANALYZE article" if engine.dialect.name == "postgresql" else "ANALYZE"
            await autocommit.execute(sql_text(vacuum))
        return len(ids)
    finally:
        await engine.dispose()


def _patch_requests(slugs: list[str], key: str, tag: str) -> list[HttpRequest]:
    """Two rounds over ``slugs``: every PATCH flips a story's standfirst between two texts
    marked with ``tag`` (new for every run), so each one is a real change and a revision."""
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/merge-patch+json"}
    requests = []
    for round_number in range(2):
        text = f"Standfirst edited by the benchmark, run {tag}, version {round_number + 1}."
        body = orjson.dumps({"standfirst": text}).decode()
        requests += [HttpRequest(f"/v1/articles/{slug}", "PATCH", headers, body) for slug in slugs]
    return requests


def build_scenarios(workload: Workload, editor_key: str, wanted: list[str]) -> list[Scenario]:
    quote = urllib.parse.quote
    made = {
        "ceiling": [HttpRequest("/healthz")],
        "story": [HttpRequest(f"/v1/articles/{slug}") for slug in workload.stories],
        "newest": [HttpRequest("/v1/articles?limit=20")],
        "entity": [HttpRequest(f"/v1/articles?entity={quote(s)}") for s in workload.entities],
        "search": [HttpRequest(f"/v1/articles?q={quote(term)}") for term in workload.terms],
        "feed": [HttpRequest("/v1/feeds/articles.atom")],
        # Filled in once the server has given the ETags.
        "not_modified": [HttpRequest(f"/v1/articles/{s}") for s in workload.stories[:100]],
        "patch": [],
        "longtail": [HttpRequest(f"/v1/articles/{slug}") for slug in workload.every_story],
        "longtail_drafts": [HttpRequest(f"/v1/articles/{slug}") for slug in workload.every_story],
        "patch8": [],
        "ceiling_nocache": [HttpRequest("/healthz")],
        "story_nocache": [HttpRequest(f"/v1/articles/{slug}") for slug in workload.all_stories],
        "newest_nocache": [HttpRequest("/v1/articles?limit=20")],
        "not_modified_nocache": [
            HttpRequest(f"/v1/articles/{slug}") for slug in workload.all_stories[:1000]
        ],
        "search_nocache": [HttpRequest(f"/v1/articles?q={quote(term)}") for term in workload.terms],
        "search_latency_nocache": [
            HttpRequest(f"/v1/articles?q={quote(term)}") for term in workload.terms
        ],
        "news_sitemap_nocache": [HttpRequest("/v1/sitemaps/news.xml")],
        "month_sitemap_nocache": [
            HttpRequest(f"/v1/sitemaps/articles-{utcnow():%Y-%m}.xml"),
        ],
    }
    scenarios = [Scenario(SPECS[key], made[key]) for key in wanted]
    for scenario in scenarios:
        if scenario.spec.key in ("patch", "patch8"):
            # Different stories for the two, so neither edits what the other just did.
            slugs = (
                workload.stories[-200:] if scenario.spec.key == "patch" else workload.stories[:200]
            )
            scenario.per_run = lambda tag, slugs=slugs: _patch_requests(slugs, editor_key, tag)
            scenario.requests = scenario.per_run("check")
        if scenario.spec.key == "longtail_drafts":
            scenario.during = lambda base_url: DraftSaver(base_url, editor_key)
    return scenarios


class DraftSaver:
    """An editor saving a draft nobody else can see, once a second, while a scenario runs:
    what a newsroom does all day, and what must not cost readers their cached pages."""

    def __init__(self, base_url: str, key: str) -> None:
        self.base_url = base_url
        self.headers = {"Authorization": f"Bearer {key}"}
        self.stop = threading.Event()
        self.saves = 0
        self.thread = threading.Thread(target=self._save, daemon=True)

    def __enter__(self) -> "DraftSaver":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()

    def _save(self) -> None:
        with httpx.Client(base_url=self.base_url, timeout=10, headers=self.headers) as http:
            draft = http.post(
                "/v1/articles", json={"headline": "Draft saved by the benchmark", "status": "draft"}
            ).json()
            while not self.stop.wait(1.0):
                body = f"Paragraph {self.saves}: the editor is still writing."
                http.patch(f"/v1/articles/{draft['id']}", json={"body": body})
                self.saves += 1


# Checks against the running server -------------------------------------------------


def _fetch(base_url: str, request: HttpRequest) -> tuple[int, dict[str, str], bytes]:
    data = request.body.encode() if request.body is not None else None
    prepared = urllib.request.Request(
        base_url + request.path, data=data, headers=request.headers, method=request.method
    )
    try:
        with urllib.request.urlopen(prepared, timeout=30) as response:
            return response.status, dict(response.headers.items()), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers.items()), error.read()


def check_support(base_url: str, scenario: Scenario) -> None:
    """One request (or a few) to see that the server does what the scenario measures;
    ``unsupported`` says why not."""
    key = scenario.spec.key
    first = scenario.requests[0]
    if key in ("not_modified", "not_modified_nocache"):
        tagged = []
        for request in scenario.requests:
            status, headers, _ = _fetch(base_url, request)
            etag = {name.lower(): value for name, value in headers.items()}.get("etag")
            if status != 200 or not etag:
                scenario.unsupported = (
                    f"GET {request.path} answered {status} without an ETag: "
                    "conditional GET is not supported by this server yet"
                )
                return
            tagged.append(HttpRequest(request.path, headers={"If-None-Match": etag}))
        scenario.requests = tagged
        status, _, body = _fetch(base_url, tagged[0])
        if status != 304:
            scenario.unsupported = (
                f"If-None-Match with the current ETag answered {status}, not 304 "
                f"({len(body)} bytes): conditional GET is not supported yet"
            )
        return
    status, headers, body = _fetch(base_url, first)
    if key == "feed" and status == 404:
        scenario.unsupported = "the Atom feed answers 404: not built yet"
        return
    if status != 200:
        scenario.unsupported = f"{first.method} {first.path} answered {status}: {body[:200]!r}"
        return
    if key == "search":
        probe = HttpRequest("/v1/articles?q=zzqxjvkwyy")
        status, _, body = _fetch(base_url, probe)
        if status == 200 and orjson.loads(body).get("data"):
            scenario.unsupported = (
                "q is ignored by this server (a word in no story still lists stories): "
                "full-text search is not built yet"
            )


def create_editor_key(database_url: str) -> str:
    env = dict(os.environ, NEWSDESK_DATABASE_URL=database_url)
    command = [str(Path(sys.executable).with_name("newsdesk")), "keys", "create"]
    command += ["--role", "editor", "--name", EDITOR_KEY_NAME]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip().splitlines()[-1]


# Corpus -----------------------------------------------------------------------------


async def corpus_size(database_url: str) -> int | None:
    """Stories in the database if it is at the newest migration, else None."""
    engine = create_engine(database_url, pool_size=1)
    try:
        if await current_revision(engine) != head_revision():
            return None
        async with engine.connect() as connection:
            count = select(func.count()).select_from(articles_table)
            return int((await connection.execute(count)).scalar() or 0)
    except Exception:
        return None
    finally:
        await engine.dispose()


def prepare_corpus(args: argparse.Namespace) -> dict[str, Any]:
    if args.reuse:
        existing = None
        if corpus_module.backend_of(args.database_url) != "sqlite" or (
            corpus_module._sqlite_path(args.database_url).exists()
        ):
            existing = asyncio.run(corpus_size(args.database_url))
        if existing == args.articles:
            print(f"Reusing the corpus of {existing:,} stories in {safe_url(args.database_url)}.")
            return {"reused": True, "articles": existing}
        print(f"No corpus of {args.articles:,} stories to reuse; building one.")
    shape = corpus_module.CorpusShape(articles=args.articles, seed=args.seed)
    print(f"Building a corpus of {args.articles:,} stories in {safe_url(args.database_url)} ...")
    _corpus, report = corpus_module.build(args.database_url, shape, jobs=args.jobs)
    print(corpus_module.describe(report))
    return {"reused": False, **report.as_dict()}


# Measuring --------------------------------------------------------------------------


def _database_name(database_url: str) -> str | None:
    url = make_url(database_url)
    return url.database if corpus_module.backend_of(database_url) == "postgresql" else None


def _cpu_snapshot(pids: list[int]) -> dict[int, float]:
    return {pid: cpu_seconds(pid) for pid in set(pids)}


def _cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds between two snapshots; a process that appeared in between counts whole."""
    return sum(total - before.get(pid, 0.0) for pid, total in after.items())


def wait_until_idle(server: Server, database: str | None, limit: float = 60.0) -> float:
    """Wait for the server (and its database backends) to finish what wrk left in flight:
    requests still queued when a slow scenario stops would otherwise eat into the next
    scenario's run. Idle means that for two quarter-seconds in a row the processes neither
    ran nor waited for a CPU more than 5 % of the time."""
    started = time.monotonic()
    quiet = 0
    while quiet < 2 and time.monotonic() - started < limit:
        pids = [server.pid, *server.worker_pids()]
        pids += postgres_backends(database) if database else []
        before = {pid: demand_seconds(pid) for pid in pids}
        time.sleep(0.25)
        used = sum(demand_seconds(pid) - before[pid] for pid in pids)
        quiet = quiet + 1 if used < 0.05 * 0.25 else 0
    return time.monotonic() - started


def measure(
    server: Server, scenarios: list[Scenario], args: argparse.Namespace, script_dir: Path
) -> dict[str, Measurement]:
    sampler = MemorySampler(server.pid)
    sampler.start()
    database = _database_name(server.database_url)
    results = {scenario.spec.key: Measurement() for scenario in scenarios}
    peaks: dict[str, dict[str, float]] = {}
    live = [scenario for scenario in scenarios if not scenario.unsupported]

    def one_run(scenario: Scenario, run_label: str, seconds: float) -> wrk.WrkResult:
        requests = scenario.per_run(run_label) if scenario.per_run else scenario.requests
        during = scenario.during(server.base_url) if scenario.during else nullcontext()
        with during:
            return wrk.run(
                server.base_url,
                requests,
                script_path=script_dir / f"{scenario.spec.key}.lua",
                threads=args.threads,
                connections=scenario.spec.connections or args.connections,
                duration=seconds,
                timeout=args.timeout,
            )

    try:
        for run_number in range(args.runs + 1):
            for scenario in live:
                key = scenario.spec.key
                warm_up = run_number == 0
                if warm_up and not args.warmup:
                    continue
                label = f"{time.strftime('%H%M%S')}-{key}-{run_number}"
                server_before = _cpu_snapshot([server.pid, *server.worker_pids()])
                database_before = _cpu_snapshot(postgres_backends(database) if database else [])
                sampler.reset()
                result = one_run(scenario, label, args.warmup if warm_up else args.duration)
                peak = sampler.reset().as_dict()
                server_after = _cpu_snapshot([server.pid, *server.worker_pids()])
                database_after = _cpu_snapshot(postgres_backends(database) if database else [])
                drained = wait_until_idle(server, database)
                mark = "warm-up" if warm_up else f"run {run_number}/{args.runs}"
                print(
                    f"  {mark:>9}  {key:<13} {result.requests_per_second:>9,.0f} req/s  "
                    f"p99 {result.latency_ms.get('p99', 0):>8.1f} ms"
                    + (f"  {result.errors} errors" if result.errors else "")
                    + (f"  (busy {drained:.1f} s after)" if drained > 1.5 else ""),
                    flush=True,
                )
                if warm_up:
                    continue
                measurement = results[key]
                measurement.runs.append(result)
                seconds = result.seconds or args.duration
                measurement.server_cpu.append(_cpu_used(server_before, server_after) / seconds)
                if database:
                    # Backends that ended during the run are missed (the pool keeps them).
                    used = _cpu_used(database_before, database_after)
                    measurement.database_cpu.append(used / seconds)
                prior = peaks.setdefault(key, {})
                for name, value in peak.items():
                    prior[name] = max(prior.get(name, 0), value)
    finally:
        sampler.stop()
    for key, peak in peaks.items():
        results[key].memory = peak
    return results


def profile_scenario(
    server: Server, scenario: Scenario, args: argparse.Namespace, script_dir: Path, tag: str
) -> profiler.ProfileSummary:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    raw = RESULTS_DIR / f"{tag}-profile-{scenario.spec.key}.txt"
    seconds = args.profile_seconds
    recorder = profiler.start(server.pid, seconds, raw, subprocesses=server.workers > 1)
    time.sleep(0.5)
    requests = scenario.per_run(f"profile-{tag}") if scenario.per_run else scenario.requests
    wrk.run(
        server.base_url,
        requests,
        script_path=script_dir / f"{scenario.spec.key}-profile.lua",
        threads=args.threads,
        connections=args.connections,
        duration=seconds,
        timeout=args.timeout,
    )
    output, _ = recorder.communicate(timeout=seconds + 60)
    if not raw.exists():
        raise RuntimeError(f"py-spy wrote no profile: {output.strip()}")
    return profiler.summarise(raw)


# Reporting --------------------------------------------------------------------------


def safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def scenario_rows(
    scenarios: list[Scenario], results: dict[str, Measurement], backend: str
) -> list[dict[str, Any]]:
    rows = []
    for scenario in scenarios:
        key = scenario.spec.key
        measurement = results[key]
        ceiling = results.get(scenario.spec.ceiling_key)
        ceiling_rps = ceiling.rps if ceiling and ceiling.runs else None
        row: dict[str, Any] = {
            "key": key,
            "title": scenario.spec.title,
            "paths": len(scenario.requests),
            "example": scenario.requests[0].path if scenario.requests else None,
            "unsupported": scenario.unsupported,
            "goal": scenario.spec.goal.describe(backend) if scenario.spec.goal else None,
            "statements_per_request": scenario.statements,
        }
        if measurement.runs:
            ratio = measurement.rps / ceiling_rps if ceiling_rps else None
            row |= {
                "requests_per_second": round(measurement.rps, 1),
                "p50_ms": measurement.p50,
                "p99_ms": measurement.p99,
                "ratio_to_ceiling": round(ratio, 3) if ratio is not None else None,
                "goal_met": (
                    scenario.spec.goal.met(backend, ratio, measurement.rps, measurement.p99)
                    if scenario.spec.goal
                    else None
                ),
                "errors": measurement.errors,
                "peak_rss": measurement.memory,
                "server_cpu_cores": round(statistics.median(measurement.server_cpu), 2),
                "database_cpu_cores": (
                    round(statistics.median(measurement.database_cpu), 2)
                    if measurement.database_cpu
                    else None
                ),
                "runs": [run.as_dict() for run in measurement.runs],
            }
        rows.append(row)
    return rows


def _cell(value: Any, fmt: str = "{:,.0f}") -> str:
    return "–" if value is None else fmt.format(value)


def draft_save_share(rows: list[dict[str, Any]]) -> float | None:
    """The long-tail read rate with a draft saved every second, as a share of the rate
    without: how much an editor at work costs readers."""
    rates = {row["key"]: row.get("requests_per_second") for row in rows}
    without, with_drafts = rates.get("longtail"), rates.get("longtail_drafts")
    if not without or not with_drafts:
        return None
    return float(with_drafts) / float(without)


def render_table(rows: list[dict[str, Any]], workers: int) -> str:
    header = [
        "scenario",
        "req/s",
        "p50 ms",
        "p99 ms",
        "of ceiling",
        "goal",
        "SQL/req",
        "peak RSS MB",
        "server CPU",
        "DB CPU",
        "non-2xx/3xx, socket errors",
    ]
    lines = [header]
    for row in rows:
        statements = row["statements_per_request"]
        sql = "–"
        if statements:
            sql = f"{statements['mean']:g} + {statements['transaction_control_mean']:g} tx"
        if row["unsupported"] or "requests_per_second" not in row:
            lines.append([row["title"], *["–"] * 5, sql, "–", "–", "–", "not measured (below)"])
            continue
        goal = row["goal"] or ""
        if row.get("goal_met") is not None:
            goal += " met" if row["goal_met"] else " NOT MET"
        rss = row["peak_rss"]
        memory = f"{rss['tree_mb']:.0f}"
        if workers > 1:
            memory += f" ({rss['max_process_mb']:.0f}/proc)"
        errors = row["errors"]
        lines.append(
            [
                row["title"],
                _cell(row["requests_per_second"]),
                _cell(row["p50_ms"], "{:.1f}"),
                _cell(row["p99_ms"], "{:.1f}"),
                _cell(row["ratio_to_ceiling"], "{:.0%}"),
                goal,
                sql,
                memory,
                _cell(row["server_cpu_cores"], "{:.2f}"),
                _cell(row["database_cpu_cores"], "{:.2f}"),
                "none" if not errors else f"{errors:,} ERRORS",
            ]
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for index, line in enumerate(lines):
        cells = [
            cell.ljust(widths[i]) if i in (0, 5, 10) else cell.rjust(widths[i])
            for i, cell in enumerate(line)
        ]
        out.append("| " + " | ".join(cells) + " |")
        if index == 0:
            out.append(
                "|"
                + "|".join(
                    "-" * (w + 1) + ":" if i not in (0, 5, 10) else "-" * (w + 2)
                    for i, w in enumerate(widths)
                )
                + "|"
            )
    notes = [f"- {row['title']}: {row['unsupported']}" for row in rows if row["unsupported"]]
    if notes:
        out += ["", "Not measured:", *notes]
    return "\n".join(out)


def render_scale(by_workers: dict[int, list[dict[str, Any]]]) -> str | None:
    counts = sorted(by_workers)
    if len(counts) < 2:
        return None
    base = {row["key"]: row for row in by_workers[counts[0]]}
    lines = [
        "| scenario | "
        + " | ".join(f"{n} worker{'s' if n > 1 else ''} req/s" for n in counts)
        + " | "
        + " | ".join(f"{n}/{counts[0]}" for n in counts[1:])
        + " |",
        "|---|" + "---:|" * (2 * len(counts) - 1),
    ]
    for key, row in base.items():
        if row.get("requests_per_second") is None:
            continue
        figures = []
        for n in counts:
            match = next((r for r in by_workers[n] if r["key"] == key), None)
            figures.append(match.get("requests_per_second") if match else None)
        factors = [
            f"{figure / figures[0]:.2f}x" if figure and figures[0] else "–"
            for figure in figures[1:]
        ]
        lines.append(
            f"| {row['title']} | "
            + " | ".join(_cell(figure) for figure in figures)
            + " | "
            + " | ".join(factors)
            + " |"
        )
    return "\n".join(lines)


def _git(*command: str) -> str:
    try:
        return subprocess.run(
            ["git", *command], capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _postgres_version(database_url: str) -> str | None:
    if corpus_module.backend_of(database_url) != "postgresql":
        return None

    async def version() -> str:
        engine = create_engine(database_url, pool_size=1)
        try:
            async with engine.connect() as connection:
                return str((await connection.exec_driver_sql("SHOW server_version")).scalar())
        finally:
            await engine.dispose()

    return asyncio.run(version())


# Command line -----------------------------------------------------------------------


def check_and_count(
    server: Server, group: list[Scenario], args: argparse.Namespace, tag: str, cache_off: bool
) -> None:
    """See that the server does what each scenario measures, and count its statements."""
    for scenario in group:
        check_support(server.base_url, scenario)
        if scenario.unsupported:
            print(f"  {scenario.spec.key}: not measured: {scenario.unsupported}")
    if not args.statements:
        return
    live = {s.spec.key: s for s in group if not s.unsupported}
    counted = count_statements(
        args.database_url,
        {key: s.per_run(f"sql-{tag}") if s.per_run else s.requests for key, s in live.items()},
        args.statements,
        response_cache_bytes=0 if cache_off else None,
    )
    for key, count in counted.items():
        live[key].statements = count.as_dict()


def import_row(args: argparse.Namespace) -> dict[str, Any] | None:
    """The import row: the corpus exported with ``newsdesk export`` and imported by
    ``newsdesk import`` into an empty database beside it (``bench.import_rate``)."""
    if args.no_import:
        return None
    from bench import import_rate  # it imports this module

    print("\nnewsdesk export, then newsdesk import into an empty database ...", flush=True)
    export_file, lines, _seconds = import_rate.export_corpus(args.database_url, args.articles)
    return import_rate.time_import(args.database_url, export_file, lines, args.seed)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description="Benchmark newsdesk serve with wrk over a synthetic corpus.",
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("NEWSDESK_BENCH_DATABASE_URL", corpus_module.DEFAULT_PG_URL),
        help="postgresql://… or sqlite:///file.db, recreated unless --reuse; its name must "
        "contain 'bench' (default: %(default)s)",
    )
    parser.add_argument("--articles", type=int, default=10_000, help="stories (default 10,000)")
    parser.add_argument("--seed", type=int, default=corpus_module.DEFAULT_SEED)
    parser.add_argument("--jobs", type=int, default=2, help="PostgreSQL loading connections")
    parser.add_argument(
        "--reuse", action="store_true", help="keep a database that already holds --articles"
    )
    parser.add_argument(
        "--workers", default="1", help="comma-separated worker counts, e.g. 1,2 (default 1)"
    )
    parser.add_argument("--duration", type=float, default=10, help="seconds a run (default 10)")
    parser.add_argument("--connections", type=int, default=32, help="wrk -c (default 32)")
    parser.add_argument("--threads", type=int, default=1, help="wrk -t (default 1)")
    parser.add_argument("--runs", type=int, default=3, help="runs a scenario, median (3)")
    parser.add_argument("--warmup", type=float, default=3, help="warm-up seconds (3; 0: none)")
    parser.add_argument("--timeout", type=float, default=10, help="wrk --timeout (10 s)")
    parser.add_argument(
        "--scenarios",
        default=",".join(spec.key for spec in SCENARIOS),
        help="comma-separated subset of: %(default)s",
    )
    parser.add_argument("--port", type=int, help="server port (default: first free 18400-18499)")
    parser.add_argument(
        "--log-level", default="info", help="server log level (info, the app's default)"
    )
    parser.add_argument(
        "--statements", type=int, default=5, help="requests a scenario to count SQL (5; 0: off)"
    )
    parser.add_argument(
        "--profile",
        metavar="SCENARIOS",
        default="",
        help="comma-separated scenarios to sample with py-spy (first worker count only)",
    )
    parser.add_argument("--profile-seconds", type=float, default=15)
    parser.add_argument(
        "--no-import", action="store_true", help="skip the import row (newsdesk import rate)"
    )
    parser.add_argument("--output", type=Path, help="JSON file (default bench/results/…)")
    args = parser.parse_args(argv)
    args.worker_counts = [int(part) for part in str(args.workers).split(",") if part.strip()]
    args.scenario_keys = [part.strip() for part in args.scenarios.split(",") if part.strip()]
    unknown = [key for key in args.scenario_keys if key not in SPECS]
    if unknown:
        parser.error(f"unknown scenario {unknown[0]!r}; choose from {', '.join(SPECS)}")
    args.profile_keys = [part.strip() for part in args.profile.split(",") if part.strip()]
    if any(key not in args.scenario_keys for key in args.profile_keys):
        parser.error("--profile must name chosen scenarios")
    if not 1 <= args.articles <= corpus_module.MAX_ARTICLES:
        parser.error(f"--articles must be between 1 and {corpus_module.MAX_ARTICLES:,}")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if wrk.wrk_path() is None:
        raise SystemExit(wrk.INSTALL_HINT)
    if args.profile_keys and profiler.py_spy_path() is None:
        raise SystemExit(profiler.INSTALL_HINT)
    started = datetime.now(UTC)
    tag = started.strftime("%Y%m%d-%H%M%S")
    backend = corpus_module.backend_of(args.database_url)
    load_before = os.getloadavg()
    print(f"Load average before: {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}")

    corpus_info = prepare_corpus(args)
    if SITEMAP_KEYS & set(args.scenario_keys):
        moved = asyncio.run(_bring_news_up_to_date(args.database_url))
        print(f"{moved:,} newest stories dated into the last 42 hours for the news sitemap")
    workload = asyncio.run(_discover(args.database_url, args.seed))
    editor_key = create_editor_key(args.database_url)
    scenarios = build_scenarios(workload, editor_key, args.scenario_keys)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    script_dir = RESULTS_DIR / "scripts"
    script_dir.mkdir(exist_ok=True)
    log_path = RESULTS_DIR / f"{tag}-server.log"

    by_workers: dict[int, list[dict[str, Any]]] = {}
    profiles: dict[str, profiler.ProfileSummary] = {}
    print(
        f"wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s, median of "
        f"{args.runs} after a {args.warmup:g} s warm-up; {backend}, "
        f"{workload.articles:,} stories; server log: {log_path}"
    )
    for index, workers in enumerate(args.worker_counts):
        results: dict[str, Measurement] = {}
        for cache_off in (False, True):
            group = [scenario for scenario in scenarios if scenario.spec.cache_off == cache_off]
            if not group:
                continue
            server = Server(
                args.database_url,
                workers=workers,
                port=args.port or free_port(),
                log_path=log_path,
                log_level=args.log_level,
                environment=(NO_CACHE if cache_off else {}) | SITE,
            )
            print(
                f"\nnewsdesk serve --workers {workers} on port {server.port}"
                + (", response cache off" if cache_off else "")
            )
            server.start()
            try:
                if index == 0:
                    check_and_count(server, group, args, tag, cache_off)
                results |= measure(server, group, args, script_dir)
                for key in args.profile_keys if index == 0 else []:
                    chosen = next((s for s in group if s.spec.key == key), None)
                    if chosen is None:
                        continue
                    if chosen.unsupported:
                        print(f"  not profiling {key}: {chosen.unsupported}")
                        continue
                    print(f"  profiling {key} for {args.profile_seconds:g} s ...", flush=True)
                    profiles[key] = profile_scenario(server, chosen, args, script_dir, tag)
                    wait_until_idle(server, _database_name(args.database_url))
            finally:
                server.stop()
        by_workers[workers] = scenario_rows(scenarios, results, backend)

    imported = import_row(args)
    load_after = os.getloadavg()
    title = (
        f"{backend}, {workload.articles:,} stories, "
        f"wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s, median of {args.runs}"
    )
    print()
    for workers, rows in by_workers.items():
        print(f"## {title}, {workers} worker{'s' if workers > 1 else ''}\n")
        print(render_table(rows, workers))
        for cache_off, label in ((False, "default cache budget"), (True, "response cache off")):
            peaks = [
                row["peak_rss"]["max_process_mb"]
                for row in rows
                if row.get("peak_rss") and SPECS[row["key"]].cache_off == cache_off
            ]
            if peaks:
                print(
                    f"\nPeak RSS of one server process, {label}: {max(peaks):.0f} MB "
                    f"(goal < {RSS_GOAL_MB} MB a worker with the default cache budget)."
                )
        print()
        drafts = draft_save_share(rows)
        if drafts is not None:
            print(
                f"Long tail with one draft saved a second: {drafts:.0%} of the rate without "
                "(goal >= 80 %).\n"
            )
    scale = render_scale(by_workers)
    if scale:
        print("## Scale factor (goal: 2 workers >= 1.6x one)\n")
        print(scale + "\n")
    if imported is not None:
        first = next(iter(by_workers.values()), [])
        healthz = next(
            (row.get("requests_per_second") for row in first if row["key"] == "ceiling"), None
        )
        healthz_note = f" (same run: GET /healthz {healthz:,.0f} req/s)" if healthz else ""
        print(f"## Import: newsdesk import into an empty database{healthz_note}\n")
        print("| what | stories/s | goal |\n|---|---:|---|")
        rate = imported["stories_per_second"]
        shown = f"{rate:,.0f}" if rate else f"failed (exit code {imported['exit_code']})"
        met = " met" if imported["goal_met"] else " NOT MET"
        print(
            f"| newsdesk import, {imported['stories']:,} new stories | "
            f"{shown} | {imported['goal']}{met} |\n"
        )
    for key, summary in profiles.items():
        print(f"## Profile of {SPECS[key].title}, {args.profile_seconds:g} s under wrk\n")
        print(profiler.render(summary) + "\n")
    print(f"Load average after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")
    if max(load_before[0], load_after[0]) > 1.0:
        print(
            "Other work was running on this machine (load average above 1): "
            "the figures are noisy; compare runs made under the same load."
        )

    document = {
        "started_at": started.isoformat(),
        "command": " ".join([Path(sys.argv[0]).name, *(argv if argv else sys.argv[1:])]),
        "git": {
            "commit": _git("rev-parse", "HEAD"),
            "branch": _git("rev-parse", "--abbrev-ref", "HEAD"),
            "dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
        },
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "load_average_before": load_before,
            "load_average_after": load_after,
            "postgresql": _postgres_version(args.database_url),
            "wrk": wrk.wrk_path(),
        },
        "database": {"backend": backend, "url": safe_url(args.database_url), **corpus_info},
        "wrk": {
            "threads": args.threads,
            "connections": args.connections,
            "duration_s": args.duration,
            "runs": args.runs,
            "warmup_s": args.warmup,
            "timeout_s": args.timeout,
        },
        "workload": {
            "stories": len(workload.stories),
            "entities": len(workload.entities),
            "search_terms": workload.terms,
        },
        "results": [
            {"workers": workers, "scenarios": rows} for workers, rows in by_workers.items()
        ],
        "profiles": {key: summary.as_dict() for key, summary in profiles.items()},
        "import": imported,
    }
    output = args.output or RESULTS_DIR / f"{tag}-{backend}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(document, indent=2, default=str) + "\n")
    print(f"Results: {output}")


if __name__ == "__main__":
    main()
