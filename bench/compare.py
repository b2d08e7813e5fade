"""Results side by side: req/s and p99 of each scenario in several result files, and each
one's req/s against the first file's (SQLite against PostgreSQL, before against after).

    python -m bench.compare bench/results/A-postgresql.json bench/results/B-sqlite.json
"""

import argparse
import json
from pathlib import Path
from typing import Any


def _runs(path: Path) -> list[tuple[str, dict[str, dict[str, Any]]]]:
    document = json.loads(path.read_text())
    backend = document["database"]["backend"]
    return [
        (
            f"{path.stem} ({backend}, {result['workers']}w)",
            {row["key"]: row for row in result["scenarios"]},
        )
        for result in document["results"]
    ]


def render(paths: list[Path]) -> str:
    columns = [run for path in paths for run in _runs(path)]
    base_name, base = columns[0]
    keys = list(dict.fromkeys(key for _, rows in columns for key in rows))
    lines = [f"Against {base_name}:", ""]
    header = ["scenario"]
    for index in range(len(columns)):
        header += [f"[{index + 1}] req/s", f"[{index + 1}] p99 ms"]
        if index:
            header.append(f"[{index + 1}]/[1]")
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|---|" + "---:|" * (len(header) - 1))
    for key in keys:
        title = next(rows[key]["title"] for _, rows in columns if key in rows)
        cells = [title]
        reference = base.get(key, {}).get("requests_per_second")
        for index, (_, rows) in enumerate(columns):
            row = rows.get(key, {})
            rps = row.get("requests_per_second")
            cells += [
                f"{rps:,.0f}" if rps is not None else "–",
                f"{row['p99_ms']:.1f}" if row.get("p99_ms") is not None else "–",
            ]
            if index:
                cells.append(f"{rps / reference:.2f}" if rps and reference else "–")
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines += [f"[{index + 1}] {name}" for index, (name, _) in enumerate(columns)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__)
    parser.add_argument("results", nargs="+", type=Path, help="JSON files from bench.run")
    args = parser.parse_args(argv)
    print(render(args.results))


if __name__ == "__main__":
    main()
