"""`convhub-sim NAME [--port P]`: run one simulator on its own (`convhub up` runs them this way)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib

from convhub_sim import REGISTRY


def load(name: str) -> type:
    module, _, attr = REGISTRY[name][0].partition(":")
    return getattr(importlib.import_module(module), attr)  # type: ignore[no-any-return]


async def serve(name: str, port: int) -> None:
    simulator = load(name)()
    url = await simulator.start(port=port)
    print(f"{name} simulator on {url}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await simulator.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="convhub-sim")
    parser.add_argument("name", choices=sorted(REGISTRY))
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.name, args.port))


if __name__ == "__main__":
    main()
