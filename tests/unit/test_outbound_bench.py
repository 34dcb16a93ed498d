"""The pure helpers of bench/outbound_bench.py: the most sends in any 1-second window, seconds, duplicates."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "outbound_bench", Path(__file__).resolve().parents[2] / "bench" / "outbound_bench.py"
)
assert _spec and _spec.loader
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def test_max_in_window_is_half_open_and_sliding() -> None:
    assert bench.max_in_window([]) == (0, 0.0)
    # 64 evenly paced a second (exact in binary): never more than 64 in [t, t + 1), whatever the phase
    paced = [i / 64 for i in range(320)]
    assert bench.max_in_window(paced)[0] == 64
    # a burst straddling two whole seconds is caught by the sliding window, not by per_second
    burst = [0.6 + i / 1000 for i in range(100)] + [1.05 + i / 1000 for i in range(50)]
    assert bench.per_second(burst, 0.0) == [100, 50]
    assert bench.max_in_window(burst) == (150, 0.6)
    assert bench.max_in_window([3.0, 1.0, 2.0, 2.5])[0] == 2  # any order


def test_per_second_counts_whole_seconds_from_origin() -> None:
    assert bench.per_second([10.0, 10.2, 11.9, 13.0], 10.0) == [2, 1, 0, 1]


def test_duplicates_count_the_same_content_to_the_same_recipient() -> None:
    def send(to: str, sid: str = "HX3", variables: str = '{"1": "Recobra"}') -> dict:
        return {"to": to, "from": "whatsapp:+1", "content_sid": sid, "content_variables": variables, "body": None}

    assert bench.duplicates([send("a"), send("b"), send("a", sid="HX4")]) == 0
    assert bench.duplicates([send("a"), send("a"), send("a"), send("b")]) == 2
