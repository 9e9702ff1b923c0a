"""Benchmark: this hub against python-socketio (AsyncRedisManager, uvicorn) on one scenario.

    .venv/bin/python -m benchmarks.hub_bench [--connections 5000] [--rate 20000] [--seconds 10]

Scenario, the same for both servers: an embedded Redis; one server process; N WebSocket
connections from separate client processes (raw asyncio sockets, cheap), ten per room (a
restaurant's expo channel for the hub, a socket.io room for the peer); a publisher in this
process that appends order events (``OrderPlaced``, about 900 bytes as JSON) to Redis: XADD to
the restaurant's stream for the hub, PUBLISH of the manager's own message for socket.io, both
pipelined. Measured per server:

* connections held: connections subscribed at the start and still open at the end;
* memory per idle connection: server RSS after the connections are open and idle, minus RSS
  before, divided by the connections;
* at ``--rate`` deliveries/s: achieved rate, publish→client latency p50 / p99 (the publish
  time in µs travels in the event), server CPU and deliveries per server CPU-second;
* at ``--sat-rate`` deliveries/s (saturation): the same figures; the publisher keeps its pace
  and the phase ends when every delivery arrived or nothing arrives for 3 s.

The server's and Redis's CPU come from ``/proc/PID/stat``; client processes report their own
CPU. ``--servers hub hub-blocking`` compares the hub following the commits' hints (the
publisher publishes each log's key on ``k:news``, as the commit script does) with the hub
reading every log in one blocking XREAD (``HUB_NEWS=0``, no hints published).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import statistics
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from kitchen import codec, keys
from kitchen.embedded import EmbeddedRedis, free_port
from kitchen.events import OrderPlaced
from kitchen.model import Line, Order

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-secret-0123456789abcdef0123456789"
CLK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def cpu_of(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK


def rss_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE


@dataclass
class Phase:
    target: int
    deliveries: int = 0
    expected: int = 0
    seconds: float = 0.0
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    p50: float = 0.0
    p99: float = 0.0
    server_p50: float | None = None
    server_p99: float | None = None
    redis_cpu: float = 0.0

    @property
    def rate(self) -> float:
        return self.deliveries / self.seconds if self.seconds else 0.0

    @property
    def per_cpu(self) -> float:
        return self.deliveries / self.server_cpu if self.server_cpu else 0.0


@dataclass
class Result:
    kind: str
    held: int = 0
    alive_end: int = 0
    mem_per_conn: float = 0.0
    idle_cpu: float = 0.0  # server CPU-s per second with every connection open and idle
    idle_redis_cpu: float = 0.0  # Redis CPU-s per second meanwhile
    phases: list[Phase] = field(default_factory=list)


def quantile(buckets: list[Any], q: float) -> float:
    """Upper bound of the bucket holding the q-quantile of a cumulative-bucket difference."""
    total = buckets[-1][1] if buckets else 0
    for bound, cumulative in buckets:
        if cumulative >= q * total:
            return float(bound)
    return float("inf")


def line(r: str, stamp_us: int, i: int) -> bytes:
    """One order as the stream stores it (msgpack); created_at carries the publish time."""
    ln = Line(id=f"l{i}", dish_id="d7", name_zh="宫保鸡丁", name_en="Kung Pao chicken", qty=2,
              unit_price_fen=3800, station_id="wok", note="少辣 less spicy")
    order = Order(id=f"o{i}", restaurant_id=r, table_no="A3", session_id="s1", no=i,
                  created_at=stamp_us, lines=(ln, ln))
    return codec.encode(OrderPlaced(r, order))


def sio_message(r: str, stamp_us: int, i: int, host_id: str) -> bytes:
    env = codec.peek(line(r, stamp_us, i))
    data = codec.to_json_obj(env, f"{stamp_us // 1000}-{i}")
    return json.dumps({"method": "emit", "event": "ev", "data": [data], "binary": False,
                       "namespace": "/", "room": f"expo:{r}", "skip_sid": None,
                       "callback": None, "host_id": host_id}).encode()


class Bench:
    def __init__(self, kind: str, redis_url: str, args: argparse.Namespace,
                 redis_pid: int) -> None:
        self.redis_pid = redis_pid
        # "hub-blocking": the hub without the commits' hints (HUB_NEWS=0), one blocking XREAD
        # over every log, as before hints; the clients are the hub's either way
        self.kind, self.redis_url, self.args = kind, redis_url, args
        self.family = "hub" if kind.startswith("hub") else kind
        self.rooms = args.connections // args.per_room
        self.server: asyncio.subprocess.Process | None = None
        self.clients: list[asyncio.subprocess.Process] = []
        self.redis = aioredis.Redis.from_url(redis_url)
        self.host_id = uuid.uuid4().hex
        self.port = 0

    async def run(self) -> Result:
        result = Result(self.kind)
        await self.redis.flushall()
        port = self.port = free_port()
        try:
            await self.start_server(port)
            assert self.server is not None
            await asyncio.sleep(1.5)
            rss0 = rss_of(self.server.pid)
            result.held = await self.start_clients(f"ws://127.0.0.1:{port}")
            await asyncio.sleep(1)
            cpu0, t0 = cpu_of(self.server.pid), time.monotonic()
            redis0 = cpu_of(self.redis_pid)
            await asyncio.sleep(2)
            result.idle_cpu = (cpu_of(self.server.pid) - cpu0) / (time.monotonic() - t0)
            result.idle_redis_cpu = (cpu_of(self.redis_pid) - redis0) / (time.monotonic() - t0)
            result.mem_per_conn = (rss_of(self.server.pid) - rss0) / max(result.held, 1)
            await self.phase(Phase(self.args.rate), seconds=2)  # warm-up
            for target in (self.args.rate, self.args.sat_rate):
                if not target:
                    continue
                result.phases.append(await self.phase(Phase(target), self.args.seconds))
            result.alive_end = sum(r["alive"] for r in await self.ask("report"))
        finally:
            await self.stop()
        return result

    async def start_server(self, port: int) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        if self.family == "hub":
            pipe = self.redis.pipeline()
            for i in range(self.rooms):
                pipe.sadd(keys.RESTAURANTS, f"r{i}")
                pipe.set(keys.epoch(f"r{i}"), "bench")
            await pipe.execute()
            env.update(REDIS_URL=self.redis_url, KITCHEN_SECRET_KEYS=SECRET,
                       HUB_PORT=str(port), HUB_WINDOW="200",
                       HUB_NEWS="0" if self.kind == "hub-blocking" else "1")
            cmd = [sys.executable, "-m", "hub"]
            if self.args.profile:
                cmd[1:1] = ["-m", "cProfile", "-o", str(self.args.profile)]
        else:
            cmd = [sys.executable, "-m", "benchmarks.hub_bench_sio", self.redis_url, str(port)]
        self.server = await asyncio.create_subprocess_exec(
            *cmd, env=env, cwd=ROOT, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT)
        assert self.server.stdout is not None
        print(f"server pid {self.server.pid}", file=sys.stderr, flush=True)
        async with asyncio.timeout(30):
            while b"listening" not in (got := await self.server.stdout.readline()):
                assert got, "server exited"
        asyncio.create_task(self._drain(self.server.stdout))  # noqa: RUF006
        for _ in range(100):
            try:
                _, w = await asyncio.open_connection("127.0.0.1", port)
                w.close()
                return
            except OSError:
                await asyncio.sleep(0.1)

    @staticmethod
    async def _drain(stream: asyncio.StreamReader) -> None:
        while await stream.readline():
            pass

    async def start_clients(self, url: str) -> int:
        n, procs = self.args.connections, self.args.client_procs
        share = -(-n // procs)
        env = {**os.environ, "PYTHONPATH": str(ROOT), "KITCHEN_SECRET_KEYS": SECRET}
        for first in range(0, n, share):
            self.clients.append(await asyncio.create_subprocess_exec(
                sys.executable, "-m", "benchmarks.hub_bench_clients", self.family, url,
                str(first), str(min(share, n - first)), str(self.args.per_room),
                env=env, cwd=ROOT, stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE, limit=64 * 1024 * 1024))
        held = 0
        async with asyncio.timeout(300):
            for proc in self.clients:
                assert proc.stdout is not None
                held += int((await proc.stdout.readline()).split()[1])
        return held

    async def ask(self, command: str) -> list[dict[str, Any]]:
        out = []
        for proc in self.clients:
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write(command.encode() + b"\n")
            await proc.stdin.drain()
        if command == "reset":
            return []
        for proc in self.clients:
            assert proc.stdout is not None
            out.append(json.loads(await proc.stdout.readline()))
        return out

    async def phase(self, phase: Phase, seconds: float) -> Phase:
        assert self.server is not None
        await self.ask("reset")
        await asyncio.sleep(0.2)
        lag0 = await self.server_lag()
        cpu0, redis0 = cpu_of(self.server.pid), cpu_of(self.redis_pid)
        started = time.monotonic()
        events = await self.publish(phase.target / self.args.per_room, seconds)
        phase.expected = events * self.args.per_room
        last, stalled = -1, 0.0
        while True:  # wait for the tail
            reports = await self.ask("report")
            got = sum(r["deliveries"] for r in reports)
            if got >= phase.expected or stalled > 3:
                break
            stalled = stalled + 0.5 if got == last else 0.0
            last = got
            await asyncio.sleep(0.5)
        phase.seconds = max(seconds, time.monotonic() - started - stalled)
        phase.server_cpu = cpu_of(self.server.pid) - cpu0
        phase.redis_cpu = cpu_of(self.redis_pid) - redis0
        phase.deliveries = got
        phase.client_cpu = sum(r["cpu"] for r in reports)
        lag1 = await self.server_lag()
        if lag0 is not None and lag1 is not None:
            counts = [(b[0], b[1] - a[1]) for a, b in zip(lag0, lag1, strict=True)]
            phase.server_p50, phase.server_p99 = quantile(counts, 0.5), quantile(counts, 0.99)
        samples = sorted(s for r in reports for s in r["samples"])
        if samples:
            phase.p50 = statistics.median(samples)
            phase.p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
        return phase

    async def server_lag(self) -> list[tuple[float, int]] | None:
        """Cumulative buckets of the hub's own append→write lag histogram (hub only)."""
        if self.family != "hub":
            return None
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        writer.write(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        text = (await reader.read()).decode()
        writer.close()
        out = []
        for m in re.finditer(r'hub_lag_ms_bucket\{le="([^"]+)"\} (\d+)', text):
            out.append((float(m.group(1)), int(m.group(2))))
        return out

    async def publish(self, events_per_s: float, seconds: float) -> int:
        loop = asyncio.get_running_loop()
        start = loop.time()
        sent = 0
        while (now := loop.time()) - start < seconds:
            due = int((now - start) * events_per_s) - sent
            if due > 0:
                pipe = self.redis.pipeline(transaction=False)
                stamp = int(time.time() * 1e6)
                for k in range(due):
                    i = sent + k
                    r = f"r{i % self.rooms}"
                    if self.family == "hub":
                        pipe.xadd(keys.log(r), {keys.STREAM_FIELD: line(r, stamp, i)},
                                  maxlen=1000, approximate=True)
                        if self.kind == "hub":  # the hint the commit script publishes
                            pipe.publish(keys.NEWS, keys.log(r))
                    else:
                        pipe.publish("socketio", sio_message(r, stamp, i, self.host_id))
                await pipe.execute()
                sent += due
            await asyncio.sleep(0.005)
        return sent

    async def stop(self) -> None:
        if self.server is not None and self.server.returncode is None:
            self.server.terminate()
            try:
                async with asyncio.timeout(60):
                    await self.server.wait()
            except TimeoutError:
                self.server.kill()
        for proc in self.clients:
            if proc.stdin is not None and proc.returncode is None:
                proc.stdin.write(b"quit\n")
        for proc in [*self.clients, *([self.server] if self.server else [])]:
            if proc.returncode is None:
                proc.terminate()
                try:
                    async with asyncio.timeout(10):
                        await proc.wait()
                except TimeoutError:
                    proc.kill()
                    await proc.wait()
        await self.redis.aclose()


def report(results: list[Result], args: argparse.Namespace) -> str:
    rows = ["| server | connections held (start / end) | KB per idle connection | target "
            "deliveries/s | achieved/s | p50 ms | p99 ms | hub lag p50 / p99 ms | server CPU s "
            "| deliveries per server CPU-s | client CPU s | Redis CPU s | idle server CPU % "
            "| idle Redis CPU % |",
            "|" + "---|" * 14]
    for r in results:
        for p in r.phases:
            rows.append(
                f"| {r.kind} | {r.held} / {r.alive_end} | {r.mem_per_conn / 1024:.1f} | "
                f"{p.target:,} | {p.rate:,.0f} | {p.p50:.1f} | {p.p99:.1f} | "
                f"{_lag(p)} | "
                f"{p.server_cpu:.2f} | {p.per_cpu:,.0f} | {p.client_cpu:.2f} | "
                f"{p.redis_cpu:.2f} | {r.idle_cpu * 100:.1f} | {r.idle_redis_cpu * 100:.1f} |")
    return "\n".join(rows)


def _lag(p: Phase) -> str:
    if p.server_p50 is None:
        return "–"
    return f"≤{p.server_p50:g} / ≤{p.server_p99:g}"


async def amain(args: argparse.Namespace) -> list[Result]:
    results = []
    with EmbeddedRedis(durable=False) as server:
        for kind in args.servers:
            print(f"-- {kind}", file=sys.stderr, flush=True)
            results.append(await Bench(kind, server.url, args, server.process.pid).run())
            print(report(results[-1:], args), file=sys.stderr, flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--connections", type=int, default=5000)
    parser.add_argument("--per-room", type=int, default=10)
    parser.add_argument("--rate", type=int, default=20_000, help="deliveries/s")
    parser.add_argument("--sat-rate", type=int, default=60_000,
                        help="deliveries/s (0: no saturation phase)")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--client-procs", type=int, default=2)
    parser.add_argument("--servers", nargs="+", default=["hub", "sio"],
                        choices=["hub", "hub-blocking", "sio"],
                        help="hub-blocking: the hub without the commits' hints (HUB_NEWS=0)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--profile", type=Path, help="run the hub under cProfile into this file")
    args = parser.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    results = asyncio.run(amain(args))
    print(report(results, args))
    if args.json:
        args.json.write_text(json.dumps([
            {"kind": r.kind, "held": r.held, "alive_end": r.alive_end,
             "mem_per_conn": r.mem_per_conn, "idle_cpu": r.idle_cpu,
             "idle_redis_cpu": r.idle_redis_cpu,
             "phases": [{**p.__dict__, "rate": p.rate, "per_cpu": p.per_cpu}
                        for p in r.phases]} for r in results], indent=2))


if __name__ == "__main__":
    main()
