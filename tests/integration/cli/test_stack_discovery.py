"""`convhub` finds the running stack from any folder of the checkout, or by CONVHUB_STACK."""

from __future__ import annotations

import json
from pathlib import Path

from hubkit.grpcx import GrpcServer, serving

from .conftest import convhub, one_line, write_stack


async def test_health_reaches_the_stack_from_any_folder_of_the_checkout(tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    subfolder = checkout / "services" / "ingest" / "src"
    subfolder.mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    async with serving(GrpcServer(0, "127.0.0.1")) as port:  # the standard health service
        address = f"127.0.0.1:{port}"
        stack_file = write_stack(checkout, {"ingest": address, "router": address})

        code, out, err = await convhub("health", cwd=subfolder)
        assert code == 0, err
        rows = [line.split() for line in out.splitlines()]
        assert rows == [["ingest", address, "SERVING"], ["router", address, "SERVING"]]
        code, out, _ = await convhub("health", "--json", cwd=subfolder)
        assert code == 0
        assert json.loads(out)["router"] == {"address": address, "status": "SERVING", "detail": ""}

        for named in (checkout, stack_file.parent, stack_file):
            env = {"CONVHUB_STACK": str(named)}
            code, out, err = await convhub("health", cwd=elsewhere, env=env)
            assert code == 0 and out.count("SERVING") == 2, err
        code, _, err = await convhub("health", cwd=elsewhere)
        assert code == 2 and "no local stack found" in one_line(err)

    # Stopped, its file left behind: an error that says so, not a hang or a success.
    code, out, err = await convhub("health", cwd=subfolder)
    assert code == 1 and out.count("UNREACHABLE") == 2
    assert one_line(err).endswith(f"(the stack of {stack_file.resolve()} may have stopped)")
