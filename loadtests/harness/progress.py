"""Where a comparison is: one line on stderr, updated every second, with the time left.

The harness plans its phases up front (start, reset, warm-up, each round of each variant,
checks, report) with an estimate each; :class:`ProgressTracker` walks that plan and calls a
callback with a :class:`Progress` every second. During a measured run the line shows that
run's own clock (``run 0:12/0:20``) and the next fault event (``next: kill:api-1 in 7 s``),
which is what a lab refers to.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass


def fmt_duration(seconds: float) -> str:
    """75 -> "1:15"."""
    seconds = max(0, round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


@dataclass(frozen=True)
class Phase:
    name: str  # start | reset | warm-up | run | restore | checks | report | ...
    variant: str
    estimate_s: float
    round: int = 0  # 1, 2, ... for measured runs; 0 otherwise


@dataclass(frozen=True)
class Progress:
    """One update: the phase, the whole comparison's clock, and the current run's own clock."""

    phase: str
    variant: str
    elapsed_s: float
    remaining_s: float
    round: int = 0
    rounds: int = 0
    run_elapsed_s: float | None = None  # since the current measured run's stages started
    run_length_s: float | None = None
    next_event: tuple[str, float] | None = None  # (label, seconds until it) during a fault drill
    note: str = ""  # e.g. "re-run: other programs used 64 % of a core"

    @property
    def fraction(self) -> float:
        total = self.elapsed_s + self.remaining_s
        return self.elapsed_s / total if total > 0 else 0.0

    def line(self, width: int = 20) -> str:
        filled = round(self.fraction * width)
        parts = [f"[{'#' * filled}{'.' * (width - filled)}] {self.fraction * 100:3.0f}%"]
        if self.rounds and self.round:
            parts.append(f"round {self.round}/{self.rounds}")
        parts.append(f"{self.phase} {self.variant}".strip())
        if self.run_elapsed_s is not None and self.run_length_s:
            parts.append(f"run {fmt_duration(self.run_elapsed_s)}/{fmt_duration(self.run_length_s)}")
        if self.next_event is not None:
            parts.append(f"next: {self.next_event[0]} in {self.next_event[1]:.0f} s")
        if self.note:
            parts.append(self.note)
        parts.append(f"elapsed {fmt_duration(self.elapsed_s)}, ~{fmt_duration(self.remaining_s)} left")
        return "  ".join(parts)


class StderrProgressBar:
    """The progress line on stderr: rewritten in place on a terminal, one line per phase otherwise."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self._last: tuple | None = None
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def __call__(self, update: Progress) -> None:
        line = update.line()
        if self._tty:
            self.stream.write("\r\033[K" + line + ("\n" if update.phase == "done" else ""))
        elif (update.phase, update.variant, update.round, update.note) != self._last:
            self.stream.write(line + "\n")
        self._last = (update.phase, update.variant, update.round, update.note)
        self.stream.flush()


class ProgressTracker:
    """Walks the plan and reports progress every second from a thread (and at every phase change)."""

    def __init__(self, plan: Sequence[Phase], callback: Callable[[Progress], None] | None, rounds: int = 0):
        self.plan = list(plan)
        self.callback = callback
        self.rounds = rounds
        self.started = time.monotonic()
        self.index = 0
        self.phase_started = self.started
        self.note = ""
        self.run_clock: Callable[[], tuple[float | None, float | None, tuple[str, float] | None]] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="progress", daemon=True)

    def __enter__(self) -> ProgressTracker:
        if self.callback is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)
        if exc[0] is None:
            self._emit(Progress("done", "", time.monotonic() - self.started, 0.0))

    def begin(self, name: str, variant: str, round: int = 0, note: str = "") -> None:
        """Enter the first planned phase at or after the current one with this name, variant and round."""
        for i in range(self.index, len(self.plan)):
            phase = self.plan[i]
            if (phase.name, phase.variant, phase.round) == (name, variant, round):
                self.index = i
                break
        else:  # an unplanned phase (a re-run): add it where we are
            self.plan.insert(self.index + 1, Phase(name, variant, self.plan[self.index].estimate_s, round))
            self.index += 1
        self.phase_started = time.monotonic()
        self.note = note
        self.run_clock = None
        self.emit()

    def remaining(self) -> float:
        if self.index >= len(self.plan):
            return 0.0
        in_phase = time.monotonic() - self.phase_started
        current = max(0.0, self.plan[self.index].estimate_s - in_phase)
        return current + sum(p.estimate_s for p in self.plan[self.index + 1 :])

    def emit(self) -> None:
        if self.callback is None:
            return
        phase = self.plan[min(self.index, len(self.plan) - 1)]
        run_elapsed, run_length, next_event = self.run_clock() if self.run_clock else (None, None, None)
        self._emit(
            Progress(
                phase=phase.name,
                variant=phase.variant,
                elapsed_s=time.monotonic() - self.started,
                remaining_s=self.remaining(),
                round=phase.round,
                rounds=self.rounds,
                run_elapsed_s=run_elapsed,
                run_length_s=run_length,
                next_event=next_event,
                note=self.note,
            )
        )

    def _emit(self, update: Progress) -> None:
        if self.callback is not None:
            self.callback(update)

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            self.emit()
