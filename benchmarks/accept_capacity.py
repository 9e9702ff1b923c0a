"""Accept capacity: orders one API process acknowledges per second, beside a naive baseline.

    .venv/bin/python -m benchmarks.accept_capacity [--rounds 3] [--seconds 15] [--rate 3000]
                                                  [--py-spy] [--out DIR]

One run, the same servers for both contestants: PostgreSQL and Redis as shipped (fsync on,
AOF ``appendfsync always``), ``--restaurants`` seeded by ``loadtests.seed`` (every table open,
diner tokens), then two server processes side by side:

* ``api``: ``python -m api`` exactly as the Procfile runs it — token, menu, rate limit,
  idempotency, read → decide → one atomic Lua commit;
* ``baseline``: ``benchmarks.accept_baseline`` — one PostgreSQL INSERT and one XADD per order.

Each round runs, for each contestant in turn, a closed loop (``--connections`` keep-alive
connections, the capacity) and an open loop at ``--rate`` orders/s (latency counted from when
each order was due). Orders are about four dishes, spread over every table. Figures: orders/s,
p50 / p99 ms, and the CPU (cores) of the server, Redis, PostgreSQL and the load generator over
the phase. The medians over rounds are printed and everything goes to ``accept.json``.
With ``--py-spy`` the API is profiled during its last closed loop (``api-profile.txt``, the
functions with the most samples, and ``api-flame.svg``); with ``--sample`` it runs under
``benchmarks.sampled``, which samples its own CPU time during that loop (``api-samples.txt``;
on this kind of machine the better guide, see that module).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

from kitchen.db import migrate
from kitchen.embedded import EmbeddedPostgres, EmbeddedRedis, free_port
from kitchen.settings import Settings
from loadtests import cpu, seed

ROOT = Path(__file__).resolve().parent.parent


def _wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing listens on {port} after {timeout:.0f} s")


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env,
                            stdin=subprocess.DEVNULL, stdout=open(log, "wb"),
                            stderr=subprocess.STDOUT, start_new_session=True)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _pids(pid: int) -> list[int]:
    return [pid, *cpu.children(pid)]


def phase(name: str, url: str, server: subprocess.Popen[bytes], pg: EmbeddedPostgres,
          rd: EmbeddedRedis, plan: Path, seconds: float, connections: int, rate: float,
          out: Path, profile: bool = False, sample: bool = False) -> dict[str, Any]:
    load = [sys.executable, "-m", "benchmarks.accept_load", "--url", url, "--plan", str(plan),
            "--seconds", str(seconds), "--connections", str(connections)]
    if rate:
        load += ["--rate", str(rate)]
    gen = subprocess.Popen(load, cwd=ROOT, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    meter = cpu.Meter({
        "server": lambda: _pids(server.pid),
        "redis": lambda: [rd.process.pid],
        "postgres": lambda: _pids(pg.process.pid),
        "generator": lambda: _pids(gen.pid) if gen.poll() is None else [],
    })
    meter.start()
    if sample:
        server.send_signal(signal.SIGUSR1)  # benchmarks.sampled: start
    spy = None
    if profile:
        spy = subprocess.Popen(
            [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(server.pid),
             "--duration", str(int(seconds)), "--rate", "200", "--format", "raw",
             "--output", str(out / "api-profile.raw")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stdout, _ = gen.communicate(timeout=seconds + 120)
    cores = meter.stop()
    if sample:
        server.send_signal(signal.SIGUSR2)  # stop and write the stacks
    if spy is not None:
        spy.wait(timeout=60)
    result: dict[str, Any] = json.loads(stdout.decode().strip().splitlines()[-1])
    result.update({"contestant": name, "cores": cores})
    return result


def summarise_profile(raw: Path, out: Path, top: int = 40) -> None:
    """Collapsed stacks → the functions with the most samples (self and inclusive)."""
    if not raw.exists():
        return
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        own[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    lines = [f"{total} samples", "", "self %  function"]
    lines += [f"{100 * n / total:5.1f}  {f}" for f, n in own.most_common(top)]
    lines += ["", "inclusive %  function"]
    lines += [f"{100 * n / total:5.1f}  {f}" for f, n in inclusive.most_common(top)]
    out.write_text("\n".join(lines) + "\n")


def medians(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in results:
        groups.setdefault((r["contestant"], r["mode"]), []).append(r)
    rows = []
    for (name, mode), rs in groups.items():
        def med(key: str, rs: list[dict[str, Any]] = rs) -> float:
            return round(statistics.median(r[key] for r in rs), 2)

        def med_core(key: str, rs: list[dict[str, Any]] = rs) -> float:
            return round(statistics.median(r["cores"][key] for r in rs), 2)

        rows.append({
            "contestant": name, "mode": mode, "runs": len(rs),
            "orders_per_s": med("orders_per_s"), "p50_ms": med("p50_ms"),
            "p99_ms": med("p99_ms"), "server_cores": med_core("server"),
            "redis_cores": med_core("redis"), "postgres_cores": med_core("postgres"),
            "generator_cores": med_core("generator"),
            "machine_busy": med_core("machine_busy_share"),
            "non_2xx": sum(r["ok"] != sum(r["statuses"].values()) for r in rs),
        })
    return rows


TARGET_ORDERS_PER_S = 3_000  # the target for one API process, closed loop
TARGET_P99_MS = 50.0


def versus(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The API against the baseline, closed loop, round by round (the share is what carries
    over from one hour of a shared machine to another), and the API against the target."""
    closed = {name: [r for r in results if r["contestant"] == name and r["mode"] == "closed"]
              for name in ("api", "baseline")}
    shares = [round(a["orders_per_s"] / b["orders_per_s"], 3)
              for a, b in zip(closed["api"], closed["baseline"], strict=False)
              if b["orders_per_s"]]
    out: dict[str, Any] = {"api_share_of_baseline": shares}
    if closed["api"]:
        rate = statistics.median(r["orders_per_s"] for r in closed["api"])
        p99 = statistics.median(r["p99_ms"] for r in closed["api"])
        out["target"] = {"orders_per_s": TARGET_ORDERS_PER_S, "p99_ms": TARGET_P99_MS,
                         "api_orders_per_s": round(rate, 1), "api_p99_ms": round(p99, 2),
                         "met": rate >= TARGET_ORDERS_PER_S and p99 < TARGET_P99_MS}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--restaurants", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--rate", type=float, default=3000, help="open-loop orders/s (0: skip)")
    parser.add_argument("--only", choices=("api", "baseline"), default=None)
    parser.add_argument("--py-spy", action="store_true", help="profile the API's last round")
    parser.add_argument("--sample", action="store_true",
                        help="sample the API's own CPU time in its last round")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    out = args.out or ROOT / "artifacts" / "accept" / time.strftime("%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="kitchen-accept-", dir="/var/tmp"))
    os.chmod(tmp, 0o755)
    pg = EmbeddedPostgres(tmp / "postgres", settings=("shared_buffers=256MB",))
    rd = EmbeddedRedis(tmp / "redis")
    servers: dict[str, subprocess.Popen[bytes]] = {}
    results: list[dict[str, Any]] = []
    try:
        pg.start()
        rd.start()
        asyncio.run(migrate(pg.url))
        api_port, base_port = free_port(), free_port()
        settings = replace(Settings(), database_url=pg.url, redis_url=rd.url,
                           secret_keys=(secrets.token_hex(24),), api_port=api_port)
        started = time.monotonic()
        plan = asyncio.run(seed.seed(settings, args.restaurants))
        plan_path = out / "plan.json"
        plan_path.write_text(json.dumps(plan))
        print(f"seeded {args.restaurants} restaurants in {time.monotonic() - started:.1f} s",
              flush=True)
        env = {**os.environ, "DATABASE_URL": pg.url, "REDIS_URL": rd.url,
               "KITCHEN_SECRET_KEYS": settings.secret_keys[0], "API_PORT": str(api_port),
               "PYTHONUNBUFFERED": "1"}
        urls = {"api": f"http://127.0.0.1:{api_port}",
                "baseline": f"http://127.0.0.1:{base_port}"}
        if args.only != "baseline":
            sampled = ["-m", "benchmarks.sampled", "--out", str(out / "api-samples.raw"), "api"]
            servers["api"] = _spawn(sampled if args.sample else ["-m", "api"], env,
                                    out / "api.log")
        if args.only != "api":
            servers["baseline"] = _spawn(["-m", "benchmarks.accept_baseline", "--port",
                                          str(base_port)], env, out / "baseline.log")
        for name, proc in servers.items():
            _wait_port(api_port if name == "api" else base_port, proc)
            phase(name, urls[name], proc, pg, rd, plan_path, 3, 16, 0, out)  # warm up
        for n in range(args.rounds):
            for name, proc in servers.items():
                last = n == args.rounds - 1
                r = phase(name, urls[name], proc, pg, rd, plan_path, args.seconds,
                          args.connections, 0, out, profile=args.py_spy and last
                          and name == "api", sample=args.sample and last and name == "api")
                results.append(r)
                print(json.dumps(r), flush=True)
                if args.rate:
                    r = phase(name, urls[name], proc, pg, rd, plan_path, args.seconds,
                              max(args.connections, 128), args.rate, out)
                    results.append(r)
                    print(json.dumps(r), flush=True)
    finally:
        for proc in servers.values():
            _stop(proc)
        rd.stop(remove=False)
        pg.stop(remove=False)
        subprocess.run(["rm", "-rf", str(tmp)], check=False)
    summarise_profile(out / "api-profile.raw", out / "api-profile.txt")
    summarise_profile(out / "api-samples.raw", out / "api-samples.txt")
    table = medians(results)
    against = versus(results)
    (out / "accept.json").write_text(json.dumps({"medians": table, "versus": against,
                                                 "runs": results}, indent=1))
    print(f"\nmedians of {args.rounds} rounds of {args.seconds:g} s ({out}):")
    print(f"{'contestant':10} {'mode':6} {'orders/s':>9} {'p50 ms':>7} {'p99 ms':>7} "
          f"{'server':>7} {'redis':>6} {'pg':>6} {'gen':>6} {'machine':>8}")
    for row in table:
        print(f"{row['contestant']:10} {row['mode']:6} {row['orders_per_s']:>9} "
              f"{row['p50_ms']:>7} {row['p99_ms']:>7} {row['server_cores']:>7} "
              f"{row['redis_cores']:>6} {row['postgres_cores']:>6} "
              f"{row['generator_cores']:>6} {row['machine_busy']:>8}")
    if against["api_share_of_baseline"]:
        print("api / baseline, closed loop, round by round: "
              + " · ".join(f"{share:.0%}" for share in against["api_share_of_baseline"]))
    if "target" in against:
        t = against["target"]
        print(f"target (one api ≥ {t['orders_per_s']:,} orders/s, p99 < {t['p99_ms']:g} ms): "
              f"{'met' if t['met'] else 'NOT met'} ({t['api_orders_per_s']:,} orders/s, "
              f"p99 {t['api_p99_ms']} ms; medians of the closed loop)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
