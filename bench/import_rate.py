"""Import and export rates of the ``newsdesk`` command on the benchmark corpus.

The corpus (built by ``bench.corpus``, or reused with ``--reuse``) is exported with
``newsdesk export``; a second database, named after the first with ``_import`` added, is
recreated with the same authors and entities and no stories, and the file goes back in
with ``newsdesk import``. Both commands run as a user runs them, start-up included, so the
figures are deterministic in what they do (the same corpus, the same file) if not in how
long the machine lets them take. Alongside them: the generator's own load rate, and the
processor time the import command itself used: the rest of its wall time it spent waiting
for the database (on PostgreSQL, the server computing each row's search vector and
updating the indexes).

With ``--profile``, py-spy samples the import (every thread) and a summary says where the
command's own time goes: validation, rendering, SQLAlchemy, the driver.

    python -m bench.import_rate                      # PostgreSQL newsdesk_bench, 10,000
    python -m bench.import_rate --database-url sqlite:///bench/results/newsdesk_bench.db
    python -m bench.import_rate --reuse --profile    # the same, sampled by py-spy
"""

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from bench import corpus as corpus_module
from bench import profile as profile_module
from bench.run import RESULTS_DIR, corpus_size, safe_url


def import_url(database_url: str) -> str:
    """The scratch database an import goes into, beside the corpus's own."""
    url = make_url(database_url)
    if corpus_module.backend_of(database_url) == "sqlite":
        path = Path(url.database or "")
        target = path.with_name(f"{path.stem}_import{path.suffix}")
        return url.set(database=str(target)).render_as_string(hide_password=False)
    return url.set(database=f"{url.database}_import").render_as_string(hide_password=False)


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _newsdesk(
    database_url: str, *arguments: str, profile_to: Path | None = None
) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """Run the command: its wall time, the processor time it used, and how it ended."""
    command = [str(Path(sys.executable).with_name("newsdesk")), *arguments]
    if profile_to is not None:
        spy = profile_module.py_spy_path()
        if spy is None:
            raise SystemExit(profile_module.INSTALL_HINT)
        record = [spy, "record", "--rate", "200", "--format", "raw"]
        command = [*record, "--output", str(profile_to), "--", *command]
    env = dict(os.environ, NEWSDESK_DATABASE_URL=database_url, NEWSDESK_LOG_LEVEL="warning")
    cpu_before = _children_cpu_seconds()
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    return time.perf_counter() - started, _children_cpu_seconds() - cpu_before, done


# stories/s a 10,000-story import must reach, by database (issue 11).
GOALS = {"postgresql": 3_000, "sqlite": 1_500}


def goal_text(backend: str) -> str:
    goal = GOALS.get(backend)
    return f">= {goal:,}/s on {backend}" if goal else "none"


def export_corpus(database_url: str, articles: int) -> tuple[Path, int, float]:
    """``newsdesk export`` of the corpus: the file, its lines, and the seconds it took."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    export_file = RESULTS_DIR / f"corpus-{articles}.ndjson"
    seconds, _cpu, done = _newsdesk(database_url, "export", str(export_file))
    if done.returncode != 0:
        raise SystemExit(f"newsdesk export failed: {done.stderr.strip()}")
    with export_file.open("rb") as lines:
        count = sum(1 for _ in lines)
    return export_file, count, seconds


def time_import(
    database_url: str, export_file: Path, lines: int, seed: int, profile_to: Path | None = None
) -> dict[str, Any]:
    """``newsdesk import`` of the export into a new database beside the corpus's, holding
    the same authors and entities and no stories: its rate against the goal."""
    target = import_url(database_url)
    people_only = corpus_module.CorpusShape(articles=0, seed=seed)
    corpus_module.build(target, people_only, progress=False)
    seconds, cpu, done = _newsdesk(target, "import", str(export_file), profile_to=profile_to)
    if done.returncode != 0:
        print(f"newsdesk import reported failures:\n{done.stderr.strip()[-2000:]}")
    backend = corpus_module.backend_of(database_url)
    # An import that crashed has no rate; one that finished with failed lines has one.
    rate = lines / seconds if done.stdout.startswith("Imported") else None
    return {
        "target": safe_url(target),
        "stories": lines,
        "seconds": seconds,
        "command_cpu_seconds": cpu,
        "stories_per_second": rate,
        "goal": goal_text(backend),
        "goal_met": rate >= GOALS[backend] if rate is not None and backend in GOALS else None,
        "exit_code": done.returncode,
        "output": done.stdout.strip()[-2000:],
    }


def describe_import(figures: dict[str, Any]) -> str:
    if figures["stories_per_second"] is None:
        return f"failed (exit code {figures['exit_code']}): no rate"
    met = {True: "met", False: "NOT MET", None: ""}[figures["goal_met"]]
    return (
        f"{figures['stories']:,} stories into {figures['target']} in "
        f"{figures['seconds']:.1f} s: {figures['stories_per_second']:,.0f} stories/s "
        f"(goal {figures['goal']}: {met}); the command used "
        f"{figures['command_cpu_seconds']:.1f} s of processor time "
        f"({1000 * figures['command_cpu_seconds'] / figures['stories']:.2f} ms a story)"
    )


def measure(args: argparse.Namespace) -> dict[str, Any]:
    shape = corpus_module.CorpusShape(articles=args.articles, seed=args.seed)
    result: dict[str, Any] = {"database": safe_url(args.database_url), "articles": args.articles}
    existing = asyncio.run(corpus_size(args.database_url)) if args.reuse else None
    if existing == args.articles:
        print(f"Reusing the corpus of {existing:,} stories in {safe_url(args.database_url)}.")
    else:
        _corpus, report = corpus_module.build(args.database_url, shape, jobs=args.jobs)
        print("generator: " + corpus_module.describe(report))
        result["generator"] = report.as_dict()

    export_file, lines, seconds = export_corpus(args.database_url, args.articles)
    megabytes = export_file.stat().st_size / 1e6
    print(
        f"export:    {lines:,} stories ({megabytes:,.1f} MB) in {seconds:.1f} s: "
        f"{lines / seconds:,.0f} stories/s"
    )
    result["export"] = {"stories": lines, "megabytes": round(megabytes, 1), "seconds": seconds}

    profile_to = RESULTS_DIR / f"import-{args.articles}.pyspy.txt" if args.profile else None
    result["import"] = time_import(args.database_url, export_file, lines, args.seed, profile_to)
    print("import:    " + describe_import(result["import"]))
    if profile_to is not None:
        summary = profile_module.summarise(profile_to)
        print(profile_module.render(summary))
        result["import"]["profile"] = summary.as_dict()
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.import_rate", description=__doc__)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("NEWSDESK_BENCH_DATABASE_URL", corpus_module.DEFAULT_PG_URL),
    )
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=corpus_module.DEFAULT_SEED)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--reuse", action="store_true", help="keep an existing corpus")
    parser.add_argument(
        "--profile", action="store_true", help="sample the import with py-spy (every thread)"
    )
    args = parser.parse_args(argv)
    result = measure(args)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    backend = corpus_module.backend_of(args.database_url)
    output = RESULTS_DIR / f"{stamp}-import-{backend}.json"
    output.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(f"Results: {output}")


if __name__ == "__main__":
    main()
