"""The benchmark scripts' own plumbing: reading wrk's output, the id scripts, refusing bad options.

The benchmarks themselves are not tests (they print figures; see docs/benchmarks.md).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.wrk import ids_script, parse_latency, parse_wrk

ROOT = Path(__file__).resolve().parents[2]

WRK_OUTPUT = """Running 6s test @ http://127.0.0.1:48001
  1 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    23.41ms   10.02ms 120.33ms   80.12%
    Req/Sec   690.12     80.44   820.00     70.00%
  Latency Distribution
     50%   21.90ms
     75%   27.10ms
     90%   35.00ms
     99%    1.02s
  4143 requests in 6.00s, 12.01MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 5
Requests/sec:    690.41
Transfer/sec:      2.00MB
"""


def test_wrk_output_is_read_with_percentiles_in_milliseconds_and_every_error_counted():
    result = parse_wrk(WRK_OUTPUT)
    assert result.rps == pytest.approx(690.41)
    assert result.requests == 4143
    assert result.errors == 5 + 2 + 1
    assert result.p50_ms == pytest.approx(21.9)
    assert result.p99_ms == pytest.approx(1020.0)


@pytest.mark.parametrize(("text", "ms"), [("812.00us", 0.812), ("12.5ms", 12.5), ("1.02s", 1020.0), ("2m", 120_000)])
def test_latencies_in_every_unit_wrk_prints(text: str, ms: float):
    assert parse_latency(text) == pytest.approx(ms)


def test_output_without_a_rate_is_a_clear_error():
    with pytest.raises(RuntimeError, match="wrk printed no rate"):
        parse_wrk("unable to connect to 127.0.0.1:48001 Connection refused\n")


def test_id_script_walks_every_product_id():
    script = ids_script("/api/products/{id}/recommendations?limit=5", products=5000, stride=7919)
    assert '"/api/products/" .. ((counter * 7919) % 5000 + 1) .. "/recommendations?limit=5"' in script


@pytest.mark.parametrize("option", [["--rounds", "0"], ["--seconds", "0"], ["--cpus", "-1"], ["--connections", "0"]])
def test_page_benchmark_refuses_bad_options_before_starting_anything(option: list[str]):
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "page_rps.py"), *option],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "must be positive" in result.stderr
    assert "Traceback" not in result.stderr
