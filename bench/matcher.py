"""Entity matcher: build time for a large catalogue and extraction time for a long text.

Makes up a catalogue of entities whose names and aliases add up to --names strings
(default 100,000: one to four capitalised made-up words each, some sharing words, as
real names do), builds the Aho-Corasick matcher the API uses, and extracts entities
from a text of --words words (default 5,000) in which about one word in twenty starts a
catalogue name. It prints figures and asserts nothing.

    .venv/bin/python bench/matcher.py
    .venv/bin/python bench/matcher.py --names 20000 --words 1000
"""

import argparse
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.entities.extract import EntityMatcher, EntityTag

TYPES = ("person", "organization", "place", "topic", "event")


def made_up_words(rng: random.Random, count: int) -> list[str]:
    consonants, vowels = "bdfghklmnprstvwz", "aeiou"
    words: set[str] = set()
    while len(words) < count:
        syllables = rng.randint(2, 4)
        words.add("".join(rng.choice(consonants) + rng.choice(vowels) for _ in range(syllables)))
    return sorted(words)


def catalogue(
    rng: random.Random, names: int, vocabulary: list[str]
) -> list[tuple[EntityTag, list[str]]]:
    entries: list[tuple[EntityTag, list[str]]] = []
    made = 0
    number = 0
    while made < names:
        length = rng.choice((1, 2, 2, 2, 3, 3, 4))
        name = " ".join(rng.choice(vocabulary).title() for _ in range(length))
        aliases = []
        if length > 1 and rng.random() < 0.6:
            aliases.append(name.split()[-1])  # "Ruto" for "William Ruto"
        if rng.random() < 0.2:
            aliases.append(name.upper())  # "NAIROBI"
        aliases = aliases[: max(0, names - made - 1)]
        tag = EntityTag(uuid.uuid4(), f"entity-{number}", name, rng.choice(TYPES))
        entries.append((tag, aliases))
        made += 1 + len(aliases)
        number += 1
    return entries


def text_with_names(
    rng: random.Random,
    words: int,
    vocabulary: list[str],
    entries: list[tuple[EntityTag, list[str]]],
) -> str:
    out: list[str] = []
    while len(out) < words:
        if rng.random() < 0.05:
            tag, aliases = rng.choice(entries)
            out.extend(rng.choice([tag.name, *aliases]).split())
            if rng.random() < 0.3:
                out[-1] += rng.choice(("'s", ",", ".", "-based"))
        else:
            out.append(rng.choice(vocabulary))
    return " ".join(out[:words])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--names", type=int, default=100_000, help="names and aliases in all")
    parser.add_argument("--words", type=int, default=5_000, help="words in the text")
    parser.add_argument("--builds", type=int, default=3)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    vocabulary = made_up_words(rng, 40_000)
    entries = catalogue(rng, args.names, vocabulary)
    strings = sum(1 + len(aliases) for _, aliases in entries)
    text = text_with_names(rng, args.words, vocabulary, entries)

    build_times = []
    matcher = None
    for _ in range(args.builds):
        started = time.perf_counter()
        matcher = EntityMatcher(entries)
        build_times.append(time.perf_counter() - started)
    assert matcher is not None
    extract_times = []
    matches = []
    for _ in range(args.runs):
        started = time.perf_counter()
        matches = matcher.find(text)
        extract_times.append(time.perf_counter() - started)
    extract_times.sort()
    p99 = extract_times[min(len(extract_times) - 1, round(0.99 * (len(extract_times) - 1)))]
    print(
        f"catalogue: {len(entries):,} entities, {strings:,} names and aliases "
        f"({matcher.size:,} distinct)"
    )
    print(
        f"build:   median {statistics.median(build_times) * 1000:8.1f} ms "
        f"(min {min(build_times) * 1000:.1f}, {args.builds} builds)"
    )
    print(
        f"extract: median {statistics.median(extract_times) * 1000:8.2f} ms, "
        f"p99 {p99 * 1000:.2f} ms "
        f"for {args.words:,} words ({len(text):,} characters), "
        f"{len(matches):,} matches, {args.runs} runs"
    )


if __name__ == "__main__":
    main()
