"""Run a module under a sampler of its CPU time, switched on and off by signals.

    python -m benchmarks.sampled --out FILE [--interval-ms 2] MODULE [ARGS...]

``SIGUSR1`` starts sampling, ``SIGUSR2`` stops it and writes the stacks seen, in the collapsed
form of ``py-spy record --format raw`` (``frame;frame;... count`` per line), to ``FILE``.

A sample is taken every ``--interval-ms`` of the process's CPU time (``ITIMER_PROF``: user and
system time, so a call into the kernel or into C counts where Python made it, and idle time
not at all). On a virtual machine of this kind, sampling from outside (``py-spy``, which
stops the process to read its stack) lands more often on the system call that follows the
moment sampled: it put 6.8 % of the API's samples in ``getpid`` (``asyncio`` calls it in
every ``get_running_loop``), a call that takes 0.11-0.15 µs here even under load. Taken
inside, on the process's own CPU clock, a sample has no such lean; the signal is handled at
the next bytecode, which puts time spent in C in the Python line that called it.
"""

from __future__ import annotations

import argparse
import runpy
import signal
import sys
from collections import Counter
from pathlib import Path
from types import FrameType


class Sampler:
    def __init__(self, out: Path, interval_s: float) -> None:
        self.out, self.interval_s = out, interval_s
        self.stacks: Counter[str] = Counter()

    def install(self) -> None:
        signal.signal(signal.SIGPROF, self._sample)
        signal.signal(signal.SIGUSR1, lambda *_: self.start())
        signal.signal(signal.SIGUSR2, lambda *_: self.stop())

    def start(self) -> None:
        self.stacks.clear()
        signal.setitimer(signal.ITIMER_PROF, self.interval_s, self.interval_s)

    def stop(self) -> None:
        signal.setitimer(signal.ITIMER_PROF, 0, 0)
        lines = [f"{stack} {n}" for stack, n in self.stacks.items()]
        self.out.write_text("\n".join(lines) + "\n")

    def _sample(self, signum: int, frame: FrameType | None) -> None:
        names = []
        while frame is not None:
            code = frame.f_code
            names.append(f"{code.co_qualname} ({_short(code.co_filename)}:{frame.f_lineno})")
            frame = frame.f_back
        self.stacks[";".join(reversed(names))] += 1


def _short(path: str) -> str:
    for marker in ("site-packages/", "/lib/python3."):
        at = path.find(marker)
        if at >= 0:
            rest = path[at + len(marker):]
            return rest.split("/", 1)[1] if marker.startswith("/lib") else rest
    root = str(Path(__file__).resolve().parent.parent) + "/"
    return path.removeprefix(root)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--interval-ms", type=float, default=2.0)
    parser.add_argument("module")
    parser.add_argument("args", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    Sampler(args.out, args.interval_ms / 1000).install()
    sys.argv = [args.module, *args.args]
    runpy.run_module(args.module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
