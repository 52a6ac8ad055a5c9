"""CPU and memory of the benchmark's processes, sampled from outside them."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import psutil

_SAMPLE_SECONDS = 0.5
_MIB = 1024 * 1024


@dataclass
class ProcessUsage:
    """One process over the measured window. CPU percent is of one core (200 = two cores)."""

    name: str
    cpu_seconds: float = 0.0
    cpu_percent: float = 0.0
    rss_start_mib: float = 0.0
    rss_end_mib: float = 0.0
    rss_peak_mib: float = 0.0


class UsageSampler(threading.Thread):
    """Samples named processes until stopped; a process that ends keeps its last sample."""

    def __init__(self, pids: dict[str, int]) -> None:
        super().__init__(name="usage-sampler", daemon=True)
        self._processes = {name: psutil.Process(pid) for name, pid in pids.items()}
        self._first: dict[str, tuple[float, float]] = {}
        self._usage = {name: ProcessUsage(name) for name in pids}
        self._stopping = threading.Event()
        self._sample()

    def add(self, name: str, pid: int) -> None:
        self._processes[name] = psutil.Process(pid)
        self._usage[name] = ProcessUsage(name)

    def run(self) -> None:
        while not self._stopping.wait(_SAMPLE_SECONDS):
            self._sample()

    def finish(self) -> list[ProcessUsage]:
        self._sample()
        self._stopping.set()
        self.join()
        return list(self._usage.values())

    def _sample(self) -> None:
        now = time.monotonic()
        for name, process in list(self._processes.items()):
            try:
                with process.oneshot():
                    times = process.cpu_times()
                    rss = round(process.memory_info().rss / _MIB, 1)
            except psutil.Error:  # ended: its last sample stands
                continue
            cpu = times.user + times.system
            # Each process is measured from its own first sample, so a process added later
            # (the generator) is not diluted by the time before it started.
            first_cpu, since = self._first.setdefault(name, (cpu, now))
            usage = self._usage[name]
            usage.rss_start_mib = usage.rss_start_mib or rss
            usage.cpu_seconds = round(cpu - first_cpu, 2)
            usage.cpu_percent = (
                round(100 * (cpu - first_cpu) / (now - since), 1) if now > since else 0.0
            )
            usage.rss_end_mib = rss
            usage.rss_peak_mib = max(usage.rss_peak_mib, rss)
