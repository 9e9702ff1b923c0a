"""One command for a whole load test: the system, the restaurants, Locust, the checks.

    python -m loadtests.run --profile smoke              # CI: < 2 minutes, lenient latency
    python -m loadtests.run --profile full --workers 2   # make loadtest: master + 2 workers

1. PostgreSQL and Redis in a fresh temporary folder (as shipped: fsync on, AOF always),
   migrations, then ``python -m kitchen run`` (api, hub, workers) on free ports;
2. ``loadtests.seed``: the profile's number of restaurants, every table open, tokens;
3. Locust headless with ``loadtests/<profile>.conf`` — one process, or a master and
   ``--workers`` worker processes (distributed mode) — writing ``report.html`` and
   ``stats_*.csv`` into the output folder;
4. ``loadtests.check`` against PostgreSQL; CPU of every process over the Locust run, and
   Redis's own stalls over the plateau (``loadtests/stalls.py``: its latency monitor, which
   tells a slow disk sync from a slow command).

``--redis-fsync everysec`` runs Redis with ``appendfsync everysec`` instead of the shipped
``always`` (to see what the disk's syncs cost the latencies).

Everything lands in ``--out`` (default ``artifacts/loadtest/<profile>-<time>``), with
``summary.json``. Exit status: non-zero when Locust's thresholds or the check failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

import redis

from kitchen.db import migrate
from kitchen.embedded import EmbeddedPostgres, EmbeddedRedis, free_port
from kitchen.settings import Settings
from loadtests import check, cpu, ledger, seed
from loadtests.plan import Plan
from loadtests.probe import Probe
from loadtests.stalls import Stalls

HERE = Path(__file__).parent
ROOT = HERE.parent
READY_TIMEOUT_S = 90.0


def read_conf(path: Path) -> dict[str, str]:
    """``key = value`` lines of a Locust config file."""
    out: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if "=" in line:
            key, value = (part.strip() for part in line.split("=", 1))
            out[key.replace("_", "-")] = value
    return out


def _wait_http(url: str, timeout: float, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the system exited ({proc.returncode}) before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


def _pids(root: Callable[[], int | None], needle: str) -> Callable[[], list[int]]:
    def find() -> list[int]:
        pid = root()
        if pid is None:
            return []
        return [p for p in cpu.children(pid) if needle in cpu.cmdline(p)]

    return find


def _tree(pids: Callable[[], Iterable[int]]) -> Callable[[], list[int]]:
    def find() -> list[int]:
        out: list[int] = []
        for pid in pids():
            out += [pid, *cpu.children(pid)]
        return out

    return find


class System:
    """PostgreSQL, Redis and ``python -m kitchen run``, in a temporary folder."""

    def __init__(self, out: Path, redis_fsync: str = "always") -> None:
        self.out = out
        self.redis_fsync = redis_fsync
        self.tmp = Path(tempfile.mkdtemp(prefix="kitchen-load-", dir="/var/tmp"))
        os.chmod(self.tmp, 0o755)
        self.pg = EmbeddedPostgres(self.tmp / "postgres",
                                   settings=("shared_buffers=256MB", "max_wal_size=2GB"))
        self.redis = EmbeddedRedis(self.tmp / "redis")
        self.proc: subprocess.Popen[bytes] | None = None
        self.settings = Settings()

    def start(self) -> Settings:
        self.pg.start()
        self.redis.start()
        if self.redis_fsync != "always":  # as shipped: always (docs/operations.md, Durability)
            client = redis.Redis.from_url(self.redis.url)
            client.config_set("appendfsync", self.redis_fsync)
            client.close()
        api_port, hub_port = free_port(), free_port()
        self.settings = replace(
            Settings(), database_url=self.pg.url, redis_url=self.redis.url,
            secret_keys=(secrets.token_hex(24),), api_port=api_port, hub_port=hub_port,
            public_api_url=f"http://127.0.0.1:{api_port}",
            public_hub_url=f"ws://127.0.0.1:{hub_port}")
        asyncio.run(migrate(self.pg.url))
        env = {
            **os.environ,
            "DATABASE_URL": self.pg.url, "REDIS_URL": self.redis.url,
            "KITCHEN_SECRET_KEYS": self.settings.secret_keys[0],
            "API_PORT": str(api_port), "HUB_PORT": str(hub_port),
            "KITCHEN_DATA_DIR": str(self.tmp / "data"), "WORKER_METRICS_PORT": "0",
            "PYTHONUNBUFFERED": "1",
        }
        log = open(self.out / "system.log", "wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "kitchen", "run"], cwd=ROOT,
                                     env=env, stdin=subprocess.DEVNULL, stdout=log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        _wait_http(f"{self.settings.public_api_url}/healthz", READY_TIMEOUT_S, self.proc)
        _wait_http(f"http://127.0.0.1:{hub_port}/healthz", READY_TIMEOUT_S, self.proc)
        return self.settings

    def groups(self) -> dict[str, Callable[[], list[int]]]:
        root = lambda: self.proc.pid if self.proc else None  # noqa: E731
        return {
            "api": _tree(_pids(root, "-m api")),
            "hub": _tree(_pids(root, "-m hub")),
            "workers": _tree(_pids(root, "-m workers")),
            "redis": lambda: [self.redis.process.pid] if self.redis.running else [],
            "postgres": _tree(lambda: [self.pg.process.pid] if self.pg.running else []),
        }

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.redis.stop(remove=False)
        self.pg.stop(remove=False)
        subprocess.run(["rm", "-rf", str(self.tmp)], check=False)


def locust_commands(conf: Path, plan: Path, run_dir: Path, out: Path, api_url: str,
                    workers: int) -> list[list[str]]:
    base = [sys.executable, "-m", "locust", "-f", str(HERE / "locustfile.py"),
            "--config", str(conf), "--plan", str(plan), "--run-dir", str(run_dir),
            "--host", api_url]
    report = ["--headless", "--html", str(out / "report.html"), "--csv", str(out / "stats")]
    if workers <= 0:
        return [base + report]
    port = free_port()
    master = base + report + ["--master", "--expect-workers", str(workers),
                              "--master-bind-host", "127.0.0.1",
                              "--master-bind-port", str(port)]
    worker = [*base, "--worker", "--master-host", "127.0.0.1", "--master-port", str(port)]
    return [master, *([worker] * workers)]


def run_locust(commands: list[list[str]], out: Path, meter_groups: dict[str, Any],
               deadline_s: float, window: tuple[float, float] | None = None
               ) -> tuple[int, dict[str, Any], float]:
    """Runs the master (and workers) to the end of the shape; a run still going
    ``deadline_s`` after its start (a generator that hung) is killed and fails. The CPU
    figures cover the whole run, and ``window`` (seconds after the start) apart."""
    procs: list[subprocess.Popen[bytes]] = []
    started = time.time()
    for n, command in enumerate(commands):
        log = open(out / f"locust-{n}.log", "wb")
        procs.append(subprocess.Popen(command, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log,
                                      stderr=subprocess.STDOUT))
    meter = cpu.Meter({**meter_groups,
                       "generator": _tree(lambda: [p.pid for p in procs if p.poll() is None])},
                      window=window)
    meter.start()
    try:
        try:
            code = procs[0].wait(deadline_s)
        except subprocess.TimeoutExpired:
            print(f"locust still running {deadline_s:.0f} s after its start: stopped, run failed",
                  file=sys.stderr, flush=True)
            code = 124
            for p in procs:
                p.kill()
        for p in procs[1:]:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    return code, meter.stop(), started


def csv_rows(path: Path) -> list[dict[str, Any]]:
    import csv

    if not path.exists():
        return []
    with open(path, encoding="utf-8") as f:
        return list(csv.DictReader(f))


def order_rates(run_dir: Path, started: float, window: tuple[float, float]
                ) -> dict[str, Any]:
    """Orders accepted per second (from their stream positions) over the whole run and the
    plateau, and orders the pass served per second over the plateau: a kitchen that falls
    behind shows as fewer served than accepted, the whole life not kept up."""
    per_s = Counter(int(rec["pos"].partition("-")[0]) // 1000
                    for rec in ledger.read(run_dir, "accepted") if rec.get("pos"))
    if not per_s:
        return {"accepted": 0}
    served_per_s = Counter(int(rec["ms"]) // 1000 for rec in ledger.read(run_dir, "served")
                           if rec.get("ms"))
    lo, hi = int(started + window[0]), int(started + window[1])
    plateau = [per_s.get(s, 0) for s in range(lo, hi)]
    served = [served_per_s.get(s, 0) for s in range(lo, hi)]
    return {
        "accepted": sum(per_s.values()),
        "plateau_median_per_s": statistics.median(plateau) if plateau else 0,
        "plateau_mean_per_s": round(sum(plateau) / len(plateau), 1) if plateau else 0,
        "best_second": max(per_s.values()),
        "served": sum(served_per_s.values()),
        "plateau_served_mean_per_s": round(sum(served) / len(served), 1) if served else 0,
    }


def summarise(out: Path, conf: dict[str, str], cores: dict[str, Any], rates: dict[str, Any],
              outcome: check.Outcome, locust_code: int) -> dict[str, Any]:
    keep = ("Type", "Name", "Request Count", "Failure Count", "Median Response Time",
            "95%", "99%", "Max Response Time", "Requests/s")
    rows = [{k: r.get(k) for k in keep} for r in csv_rows(out / "stats_stats.csv")]
    thresholds_file = out / "run" / "thresholds.json"
    summary = {
        "profile": conf,
        "orders": rates,
        "cores": cores,
        "requests": rows,
        "thresholds": json.loads(thresholds_file.read_text()) if thresholds_file.exists()
        else None,
        "check": outcome.summary(),
        "locust_exit_code": locust_code,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1, ensure_ascii=False))
    return summary


def _ms(value: Any) -> str:
    try:
        return f"{float(value):.0f}"
    except (TypeError, ValueError):
        return str(value)


def print_summary(summary: dict[str, Any]) -> None:
    print("\nrequests (ms):")
    print(f"  {'type':6} {'name':32} {'count':>8} {'fail':>5} {'p50':>6} {'p95':>6} "
          f"{'p99':>6} {'per s':>8}")
    for r in summary["requests"]:
        print(f"  {r['Type'] or '':6} {r['Name'][:32]:32} {r['Request Count']:>8} "
              f"{r['Failure Count']:>5} {_ms(r['Median Response Time']):>6} {r['95%']:>6} "
              f"{r['99%']:>6} {float(r['Requests/s'] or 0):>8.1f}")
    print(f"orders: {json.dumps(summary['orders'])}")
    whole = {k: v for k, v in summary["cores"].items() if k != "window"}
    print(f"cores used (1.0 = one core), whole run: {json.dumps(whole)}")
    if "window" in summary["cores"]:
        print(f"cores used over the plateau: {json.dumps(summary['cores']['window'])}")
    print(f"check: {json.dumps(summary['check'])}")
    if "redis_stalls" in summary:
        print(f"Redis's stalls over the plateau (its latency monitor): "
              f"{json.dumps(summary['redis_stalls'])}")
    if "probe" in summary:
        print(f"probe (orders placed outside Locust): {json.dumps(summary['probe'])}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="smoke", help="loadtests/<profile>.conf")
    parser.add_argument("--workers", type=int, default=0,
                        help="Locust worker processes (0: one local process)")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--check-wait-s", type=float, default=120.0)
    parser.add_argument("--probe-rate", type=float, default=0.0,
                        help="orders/s placed during the plateau by a probe outside Locust, "
                             "timing the server's answers (loadtests/probe.py); 0: none")
    parser.add_argument("--redis-fsync", choices=("always", "everysec"), default="always",
                        help="Redis's appendfsync for this run (shipped: always; everysec "
                             "survives a crash of Redis, not of the machine)")
    parser.add_argument("extra", nargs="*",
                        help="after --: more Locust options, e.g. -- --diners 600")
    args = parser.parse_args(argv)
    conf_path = HERE / f"{args.profile}.conf"
    if not conf_path.exists():
        print(f"no profile {conf_path}", file=sys.stderr)
        return 2
    conf = read_conf(conf_path)
    conf["redis-fsync"] = args.redis_fsync
    for key, value in zip(args.extra[::2], args.extra[1::2], strict=False):
        conf[key.lstrip("-")] = value
    stamp = time.strftime(f"{args.profile}-%Y%m%d-%H%M%S")
    out = args.out or ROOT / "artifacts" / "loadtest" / stamp
    out.mkdir(parents=True, exist_ok=True)
    run_dir = out / "run"
    system = System(out, args.redis_fsync)
    probe: Probe | None = None
    try:
        t0 = time.monotonic()
        settings = system.start()
        print(f"system up in {time.monotonic() - t0:.1f} s: api {settings.public_api_url}, "
              f"hub {settings.public_hub_url}", flush=True)
        t0 = time.monotonic()
        plan = asyncio.run(seed.seed(settings, int(conf.get("restaurants", "20"))))
        plan_path = out / "plan.json"
        plan_path.write_text(json.dumps(plan, ensure_ascii=False))
        print(f"seeded {len(plan['restaurants'])} restaurants in {time.monotonic() - t0:.1f} s",
              flush=True)
        commands = [c + args.extra for c in locust_commands(
            conf_path, plan_path, run_dir, out, settings.public_api_url, args.workers)]
        print(f"locust: {len(commands)} process(es), report in {out}", flush=True)
        warm, ramp = float(conf.get("warm-s", 15)), float(conf.get("ramp-s", 20))
        plateau = float(conf.get("plateau-s", 60))
        stalls = Stalls(system.redis.url)
        stalls.start()
        if args.probe_rate > 0:
            probe = Probe(plan, run_dir, start_after_s=warm + ramp + 3,
                          seconds=max(1.0, plateau - 5), rate=args.probe_rate)
            probe.start()
        tail, drain = float(conf.get("tail-s", 20)), float(conf.get("drain-s", 15))
        rush = warm + ramp + plateau + tail + drain
        # the shape's length and its settling (twice the stop timeout, the last reports),
        # Locust's start-up, and as much again for a machine running slow
        deadline = 2 * (rush + 2 * float(conf.get("stop-timeout", 15)) + 7 + 60)
        window = (warm + ramp + 3, warm + ramp + plateau)  # seconds after Locust's start
        code, cores, started = run_locust(commands, out, system.groups(), deadline,
                                          window=window)
        if probe is not None:
            probe.stop()
            probe.join(70)
        rates = order_rates(run_dir, started, window)
        stalls.stop()
        redis_stalls = stalls.summary((started + window[0], started + window[1]))
        assert settings.database_url is not None
        outcome = asyncio.run(check.check(run_dir, settings.database_url,
                                          Plan.load(plan_path), args.check_wait_s))
    finally:
        system.stop()
    summary = summarise(out, conf, cores, rates, outcome, code)
    summary["redis_stalls"] = redis_stalls
    if probe is not None:
        summary["probe"] = probe.summary()
    (out / "summary.json").write_text(json.dumps(summary, indent=1, ensure_ascii=False))
    print_summary(summary)
    for n in range(len(commands)):
        tail = (out / f"locust-{n}.log").read_text(errors="replace").splitlines()
        thresholds = [ln for ln in tail if ln.startswith(("Thresholds", "  ok", "  FAIL"))]
        if thresholds:
            print("\n".join(thresholds))
    why = failures(code, outcome.ok, summary)
    for reason in why:
        print(f"\n{reason}")
    print(f"\nload test {'FAILED' if why else 'passed'}: {out}")
    return 1 if why else 0


def failures(code: int, checked_ok: bool, summary: dict[str, Any]) -> list[str]:
    """Why the run fails; none when it passed. The probe's orders, placed outside Locust,
    count like Locust's own requests."""
    why = []
    if code != 0:
        why.append(f"Locust exited with {code}: a failed request or a threshold missed")
    if not checked_ok:
        why.append("the check after the run found orders or tickets lost or doubled")
    probe_failed = int(summary.get("probe", {}).get("failed", 0))
    if probe_failed:
        why.append(f"{probe_failed} of the probe's orders failed")
    return why


if __name__ == "__main__":
    sys.exit(main())
