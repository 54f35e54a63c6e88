"""Micro-benchmark of the data-driven models: `python -m attribution.bench_models` prints JSON
timings (seconds; best and median of `--repeat` runs) for Markov, simplified Shapley and
conversion-rate Shapley over random journeys (default 100,000 journeys, 10 channels, lengths
1-6, ~30 % converting), and conversion-rate Shapley over 20 channels."""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import time
from collections.abc import Callable, Sequence
from decimal import Decimal

from attribution.domain.markov import markov_credit
from attribution.domain.paths import Path
from attribution.domain.shapley import conversion_rate_shapley, simplified_shapley


def random_paths(n: int, channels: int, seed: int, converting: float = 0.3) -> list[Path]:
    rng = random.Random(seed)
    names = [f"channel-{i:02d}" for i in range(channels)]
    paths = []
    for _ in range(n):
        converted = rng.random() < converting
        value = Decimal(rng.randint(100, 50_000)).scaleb(-2) if converted else Decimal(0)
        paths.append(Path(tuple(rng.choices(names, k=rng.randint(1, 6))), converted, value))
    return paths


def timed(
    fn: Callable[[Sequence[Path]], object], paths: Sequence[Path], repeat: int
) -> dict[str, float]:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn(paths)
        runs.append(time.perf_counter() - start)
    return {"best_s": round(min(runs), 4), "median_s": round(statistics.median(runs), 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--journeys", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=2025)
    args = parser.parse_args()
    ten = random_paths(args.journeys, 10, args.seed)
    twenty = random_paths(args.journeys, 20, args.seed + 1)
    result = {
        "journeys": args.journeys,
        "converting": sum(p.converted for p in ten),
        "repeat": args.repeat,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "markov_10_channels": timed(markov_credit, ten, args.repeat),
        "simplified_shapley_10_channels": timed(simplified_shapley, ten, args.repeat),
        "conversion_rate_shapley_10_channels": timed(conversion_rate_shapley, ten, args.repeat),
        "conversion_rate_shapley_20_channels": timed(conversion_rate_shapley, twenty, args.repeat),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
