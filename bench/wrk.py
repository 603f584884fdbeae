"""Running wrk (installing it from Debian if it is missing) and reading its report."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

LUA_SCRIPT = Path(__file__).with_name("delete.lua")
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


@dataclass(frozen=True)
class WrkResult:
    requests_per_s: float
    requests: int
    p50_ms: float
    p75_ms: float
    p90_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int
    wrapped: int
    raw: str

    @property
    def tail_ratio(self) -> float:
        return self.p99_ms / self.p50_ms if self.p50_ms > 0 else float("inf")


def ensure_wrk() -> str:
    """The wrk binary; ``apt-get install -y wrk`` (after ``apt-get update`` if needed) if absent."""
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk is not installed: apt-get install -y wrk", flush=True)
    install = ["apt-get", "install", "-y", "-q", "wrk"]
    if subprocess.run(install, capture_output=True, timeout=600).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], capture_output=True, timeout=600, check=True)
        subprocess.run(install, capture_output=True, timeout=600, check=True)
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit("wrk could not be installed; install it (Debian package `wrk`)")
    return found


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if m is None:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


def parse(output: str) -> WrkResult:
    def percentile(p: int) -> float:
        m = re.search(rf"^\s*{p}%\s+(\S+)\s*$", output, re.MULTILINE)
        if m is None:
            raise ValueError(f"no {p}% latency in wrk output:\n{output}")
        return _ms(m.group(1))

    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.MULTILINE)
    total = re.search(r"^\s*(\d+) requests in", output, re.MULTILINE)
    if rps is None or total is None:
        raise ValueError(f"unexpected wrk output:\n{output}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    sock = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    wrapped = re.search(r"^BENCH_WRAPPED (\d+)", output, re.MULTILINE)
    return WrkResult(
        requests_per_s=float(rps.group(1)),
        requests=int(total.group(1)),
        p50_ms=percentile(50),
        p75_ms=percentile(75),
        p90_ms=percentile(90),
        p99_ms=percentile(99),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(g) for g in sock.groups()) if sock else 0,
        wrapped=int(wrapped.group(1)) if wrapped else 0,
        raw=output,
    )


def run(
    wrk: str,
    port: int,
    *,
    ids_file: Path,
    token: str,
    threads: int,
    connections: int,
    duration: int,
    timeout_s: int = 5,
) -> WrkResult:
    """``wrk --latency`` against 127.0.0.1:``port`` with the DELETE script."""
    cmd = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration}s",
        f"--timeout={timeout_s}s",
        "--latency",
        "-s",
        str(LUA_SCRIPT),
        f"http://127.0.0.1:{port}",
        "--",
        str(ids_file),
        str(threads),
        token,
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr}{done.stdout}")
    return parse(done.stdout)
