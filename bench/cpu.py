"""CPU accounting from /proc: what the measured processes used, and what everything else did.

The machine is shared and noisy: "other load" is the CPU the rest of the machine used while a
figure was measured (all CPUs busy time, less the bench, the server and wrk), as a share of all
CPUs. A high value means that figure was measured next to someone else's work.
"""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")


def process_seconds(pid: int) -> float:
    """User + system CPU of a process (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime


def _busy_seconds() -> float:
    """Busy CPU time of the whole machine so far (all CPUs, steal included)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = values[:8]
    return (user + nice + system + irq + softirq + steal) / _TICK


def _own_seconds() -> float:
    """This process and its waited-for children (wrk runs), all threads."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


@dataclass
class Meter:
    """Started around one measurement; ``stop`` gives the server's CPU and the others' load."""

    server_pid: int | None = None
    ours: tuple[int, ...] = ()  # more of the bench's processes (an idle server): not "others"
    _wall: float = 0.0
    _busy: float = 0.0
    _own: float = 0.0
    _server: float = 0.0
    _ours: float = 0.0

    def start(self) -> Meter:
        self._wall = time.monotonic()
        self._busy = _busy_seconds()
        self._own = _own_seconds()
        self._server = process_seconds(self.server_pid) if self.server_pid else 0.0
        self._ours = sum(process_seconds(pid) for pid in self.ours)
        return self

    def stop(self) -> tuple[float, float]:
        """(server CPU seconds, other load as a share of all CPUs) since ``start``."""
        wall = time.monotonic() - self._wall
        busy = _busy_seconds() - self._busy
        own = _own_seconds() - self._own
        server = (process_seconds(self.server_pid) - self._server) if self.server_pid else 0.0
        ours = sum(process_seconds(pid) for pid in self.ours) - self._ours
        cpus = len(os.sched_getaffinity(0))
        other = max(0.0, busy - own - server - ours) / (cpus * wall) if wall > 0 else 0.0
        return server, other


def other_load(seconds: float = 1.0) -> float:
    """Share of all CPUs the rest of the machine uses over ``seconds`` (nothing of ours running)."""
    meter = Meter().start()
    time.sleep(seconds)
    return meter.stop()[1]


def wait_quiet(limit: float, timeout: float) -> float:
    """Wait up to ``timeout`` s until others use less than ``limit`` of the CPUs; the last load."""
    deadline = time.monotonic() + timeout
    load = other_load()
    if load > limit:
        print(f" [busy: others use {load:.0%} of the CPUs; waiting", end="", flush=True)
        while load > limit and time.monotonic() < deadline:
            time.sleep(2)
            load = other_load()
            print(".", end="", flush=True)
        print(f" {load:.0%}]", end="", flush=True)
    return load
