"""The simulator base: what it records stays bounded for a long `make run`."""

from __future__ import annotations

from convhub_sim.base import MAX_RECORDED, Recorded
from convhub_sim.sgtm import SgtmSimulator


def _recorded(path: str, at: float) -> Recorded:
    return Recorded("POST", path, {}, {}, b"{}", at)


async def test_recorded_requests_are_bounded_and_keep_the_newest() -> None:
    sim = SgtmSimulator()
    for i in range(MAX_RECORDED + 10):
        sim.requests.append(_recorded("/_sim/requests" if i == MAX_RECORDED + 9 else "/x", i))
    assert len(sim.requests) == MAX_RECORDED
    assert sim.requests[0].at == 10  # the oldest fell off
    platform = sim.platform_requests()  # a list again: slicing and indexing work
    assert isinstance(platform, list) and len(platform[-2:]) == 2
    assert platform[-1].at == MAX_RECORDED + 8
    sim.requests.clear()
    assert sim.platform_requests() == []
