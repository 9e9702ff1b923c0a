"""The people of a lunch rush, one Locust user class each.

* :class:`Diner` — a table's phone: watches its table over WebSocket, orders about four dishes
  every ``--diner-pace`` seconds; one order in five gets a dish added (加菜), one in ten an urge
  (催菜), one in fifty a return (退菜) and one in fifty a double tap (the same request again,
  which must answer the first order). Measures bump → "ready" on its page.
* :class:`KitchenScreen` — a station's tablet or the pass: watches its channel, starts and
  bumps its dishes of each ticket at a human pace; the pass marks ready orders served.
  Measures order accepted → ticket on the screen.
* :class:`Merchant` — the table board over WebSocket, plus dashboard reads.

End-to-end figures are reported as request type ``E2E``: from the moment Redis appended the
event (the millisecond part of its stream position; one clock on this machine) to the moment
the frame's bytes reached the screen's socket (:mod:`loadtests.stamps`). Requests are timed
from sending to the arrival of the answer the same way; how long the generator then took to
read them is reported as request type ``GEN``.
"""

from __future__ import annotations

import heapq
import random
import time
import uuid
from collections.abc import Callable
from typing import Any

import gevent
import orjson
from gevent.event import Event
from locust import User, between, task
from locust.exception import StopUser

from loadtests.httpclient import Session
from loadtests.ledger import pos_key, pos_ms
from loadtests.plan import EXPO
from loadtests.runtime import current
from loadtests.screen import Screen

E2E = "E2E"
ORDER_TO_STATION = "order → station screen"
ORDER_TO_PASS = "order → pass screen"
BUMP_TO_DINER = "bump → diner page"
ORDER_LIFE = "order placed → served"
OPEN = ("queued", "cooking", "held")
GONE = ("returned", "voided")
IDLE_S = 5.0  # longest sleep of an idle kitchen screen (a new ticket wakes it at once)


def stale(environment: Any, resp: Any, name: str) -> None:
    """A move refused because the screen showed an older state (409 illegal_transition):
    the system did right, so it is no failure; counted apart as request type ``STALE``."""
    resp.success()
    environment.events.request.fire(request_type="STALE", name=name, response_time=0,
                                    response_length=0, exception=None, context={})


def _key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


class Person(User):
    """What every user shares: a token, its restaurant, a screen, a kept-alive connection to
    the API (:mod:`loadtests.httpclient`)."""

    abstract = True
    connection_timeout = 10.0
    network_timeout = 30.0
    client: Session
    screen: Screen | None = None
    held: Any = None  # the lock file of this user's slot

    def hold(self, name: str, slots: int) -> int | None:
        """A slot no other live user holds (None: all taken; this user then stays idle)."""
        _, ledger, _ = current.need()
        got = ledger.hold(name, slots)
        if got is None:
            return None
        slot, self.held = got
        return slot

    def setup_person(self, restaurant: dict[str, Any], token: str) -> None:
        plan, _, _ = current.need()
        self.host = plan.api_url
        self.client = Session(plan.api_url, self.environment.events.request,
                              connect_timeout=self.connection_timeout,
                              timeout=self.network_timeout)
        self.rid: str = restaurant["id"]
        self.auth = {"Authorization": f"Bearer {token}"}
        self.posting = {**self.auth, "Content-Type": "application/json"}
        self.base = f"/api/r/{self.rid}"

    def watch(self, token: str, channel: str, label: str,
              snapshot: Callable[[], tuple[str, str] | None] | None = None) -> None:
        plan, _, _ = current.need()
        self.screen = Screen(self.environment, plan.hub_url, token, [channel], self.rid,
                             label, self.on_event, snapshot)
        self.screen.open()

    def on_event(self, frame: dict[str, Any], received_ms: float) -> None:
        """A frame of the watched channel arrived."""

    def e2e(self, name: str, ms: float) -> None:
        self.environment.events.request.fire(
            request_type=E2E, name=name, response_time=max(0.0, ms), response_length=0,
            exception=None, context={})

    def on_stop(self) -> None:
        if self.screen is not None:
            self.screen.close()
        if getattr(self, "client", None) is not None:
            self.client.close()
        if self.held is not None:
            self.held.close()


# ---------------------------------------------------------------------------------- diner


def _pace(user: Diner) -> float:
    """Constant pacing: one order every ``--diner-pace`` seconds, whatever it took."""
    now = time.monotonic()
    wait = max(0.0, user.pace - (now - user.task_started))
    user.task_started = now + wait
    return wait


class Diner(Person):
    weight = 1
    wait_time = _pace

    def on_start(self) -> None:
        plan, _, _ = current.need()
        slot = self.hold("diner", plan.table_slots)
        if slot is None:
            raise StopUser("every table has a phone")
        restaurant, self.table = plan.table_slot(slot)
        self.setup_person(restaurant, restaurant["tables"][self.table])
        self.dishes = list(plan.dishes)
        self.watch(restaurant["tables"][self.table], f"table:{self.rid}:{self.table}",
                   f"phone-{self.table}")
        self.pace = float(current.options.diner_pace)
        gevent.sleep(random.uniform(0, self.pace))  # spread the first orders over one pace
        self.task_started = time.monotonic()

    def on_event(self, frame: dict[str, Any], received_ms: float) -> None:
        if frame["type"] != "dish.status_changed":
            return
        if any(c.get("status") == "ready" for c in frame["data"].get("changes", ())):
            self.e2e(BUMP_TO_DINER, received_ms - pos_ms(frame["pos"]))

    def _post(self, path: str, body: dict[str, Any], name: str,
              headers: dict[str, str] | None = None, stale_ok: bool = True) -> Any:
        with self.client.post(path, data=orjson.dumps(body),
                              headers={**self.posting, **(headers or _key())},
                              name=name, catch_response=True) as resp:
            if stale_ok and resp.status_code == 409 and "illegal_transition" in resp.text:
                stale(self.environment, resp, name)  # e.g. urging a dish that just got ready
                return None
            if resp.status_code not in (200, 201):
                resp.failure(f"{resp.status_code}: {resp.text[:200]}")
                return None
            return resp.json()

    @task
    def order(self) -> None:
        _, ledger, _ = current.need()
        items = [{"dish_id": d, "qty": 1} for d in random.sample(self.dishes, random.randint(3, 5))]
        key = _key()
        ledger.order_sent(self.rid, key["Idempotency-Key"], items)
        body = {"items": items}
        answer = self._post(f"{self.base}/tables/{self.table}/orders", body, "place order", key,
                            stale_ok=False)
        if answer is None:
            return
        order = answer["order"]
        ledger.order_accepted(self.rid, key["Idempotency-Key"], answer)
        if random.random() < 0.02:
            self.double_tap(body, key, order["id"])
        if random.random() < 0.2:
            dish = random.choice(self.dishes)
            added = self._post(f"{self.base}/orders/{order['id']}/lines",
                               {"items": [{"dish_id": dish, "qty": 1}]}, "add dish")
            if added is not None:
                ledger.lines_added(self.rid, order, added)
        line = random.choice(order["lines"])["id"]
        if random.random() < 0.1:
            self._post(f"{self.base}/orders/{order['id']}/lines/{line}/urge", {}, "urge dish")
        if random.random() < 0.02:
            self._post(f"{self.base}/orders/{order['id']}/lines/{line}/return", {},
                       "return dish")

    def double_tap(self, body: dict[str, Any], key: dict[str, str], order_id: str) -> None:
        """The same tap sent again: the first order comes back, no second ticket."""
        with self.client.post(f"{self.base}/tables/{self.table}/orders",
                              data=orjson.dumps(body), headers={**self.posting, **key},
                              name="place order (double tap)",
                              catch_response=True) as resp:
            if resp.status_code != 201:
                resp.failure(f"{resp.status_code}: {resp.text[:200]}")
            elif resp.json()["order"]["id"] != order_id:
                resp.failure("a repeated Idempotency-Key made a second ticket")
            elif resp.headers.get("Idempotent-Replayed") != "true":
                resp.failure("a repeat was not marked Idempotent-Replayed")


# ---------------------------------------------------------------------------------- kitchen


class KitchenScreen(Person):
    """A station's screen (start, then bump its dishes of each ticket) or the pass (serve)."""

    fixed_count = 0  # set from the plan: one per station and pass of every restaurant
    weight = 1  # ignored once fixed_count is set (at init, from the plan)

    def wait_time(self) -> float:
        return 0.0  # the task itself waits for the next due action

    def on_start(self) -> None:
        plan, ledger, _ = current.need()
        slot = self.hold("kitchen", plan.kitchen_slots)
        if slot is None:
            raise StopUser("every kitchen screen is driven")
        restaurant, self.station = plan.kitchen_slot(slot)
        self.is_pass = self.station == EXPO
        token = restaurant["expo"] if self.is_pass else restaurant["stations"][self.station]
        self.setup_person(restaurant, token)
        self.views: dict[str, tuple[tuple[int, int], dict[str, Any]]] = {}
        self.placed_ms: dict[str, int] = {}
        self.shown: set[str] = set()  # orders whose ticket this screen has shown
        self.due: list[tuple[float, str]] = []
        self.scheduled: set[str] = set()
        self.wake = Event()
        opts = current.options
        self.start_delay = (float(opts.start_delay_min), float(opts.start_delay_max))
        self.bump_delay = (float(opts.bump_delay_min), float(opts.bump_delay_max))
        channel = f"expo:{self.rid}" if self.is_pass else f"station:{self.rid}:{self.station}"
        self.watch(token, channel, f"{'pass' if self.is_pass else 'station'}-{self.station}",
                   self.load_snapshot)
        ledger.write("screen", {"r": self.rid, "k": self.station})

    def on_stop(self) -> None:
        """Say where the screen stopped reading: tickets appended after that were on their
        way when the run ended (the check tells them from lost ones)."""
        if self.screen is not None:
            _, ledger, _ = current.need()
            ledger.write("stopped", {"r": self.rid, "k": self.station, "pos": self.screen.pos,
                                     "ms": int(time.time() * 1000)})
        super().on_stop()

    # -------------------------------------------------------------- what the screen shows

    def _mine(self, order: dict[str, Any]) -> list[dict[str, Any]]:
        if self.is_pass:
            return [ln for ln in order["lines"] if ln["status"] not in GONE]
        return [ln for ln in order["lines"] if ln["station_id"] == self.station]

    def _next(self, order: dict[str, Any]) -> str | None:
        """What this screen does next with the ticket, if anything."""
        statuses = {ln["status"] for ln in self._mine(order)}
        if self.is_pass:
            if "ready" in statuses and not statuses & set(OPEN):
                return "serve"
            return None
        if "queued" in statuses:
            return "start"
        if "cooking" in statuses:
            return "bump"
        return None

    def _update(self, pos: str, order: dict[str, Any]) -> None:
        """Keep the newest state of the ticket; schedule what comes next."""
        oid = order["id"]
        key = pos_key(pos)
        seen = self.views.get(oid)
        if seen is not None and seen[0] >= key:
            return
        action = self._next(order)
        if action is None and not (self.is_pass and any(
                ln["status"] in OPEN for ln in order["lines"])):
            self.views.pop(oid, None)
            return
        self.views[oid] = (key, order)
        if action is not None and oid not in self.scheduled:
            lo, hi = self.start_delay if action != "bump" else self.bump_delay
            self._schedule(oid, random.uniform(lo, hi))

    def _schedule(self, oid: str, delay: float) -> None:
        self.scheduled.add(oid)
        heapq.heappush(self.due, (time.monotonic() + delay, oid))
        self.wake.set()

    def on_event(self, frame: dict[str, Any], received_ms: float) -> None:
        order = frame["data"].get("order")
        if not isinstance(order, dict):
            return
        if self._brings_ticket(frame["type"], order) and order["id"] not in self.shown:
            _, ledger, _ = current.need()
            at = pos_ms(frame["pos"])
            self.shown.add(order["id"])
            ledger.write("seen", {"r": self.rid, "k": self.station, "o": order["id"],
                                  "e": frame["id"]})
            self.e2e(ORDER_TO_PASS if self.is_pass else ORDER_TO_STATION, received_ms - at)
            if self.is_pass:
                self.placed_ms[order["id"]] = at
        self._update(frame["pos"], order)

    def _brings_ticket(self, kind: str, order: dict[str, Any]) -> bool:
        """The event that puts the order on this screen: its placing, or 加菜 that brought
        the order's first dish of this station (not the pass: it has every order placed)."""
        if kind == "order.placed":
            return True
        return kind == "order.lines_added" and not self.is_pass and not any(
            ln["station_id"] == self.station and not ln.get("added") for ln in order["lines"])

    def load_snapshot(self) -> tuple[str, str] | None:
        """After a reload: the screen's snapshot; its tickets count as shown."""
        _, ledger, _ = current.need()
        path = f"{self.base}/expo" if self.is_pass else \
            f"{self.base}/stations/{self.station}/tickets"
        name = f"snapshot {'pass' if self.is_pass else 'station'}"
        with self.client.get(path, headers=self.auth, name=name, catch_response=True) as resp:
            if resp.status_code != 200:
                resp.failure(f"{resp.status_code}: {resp.text[:200]}")
                return None
            snap = resp.json()
        for ticket in snap.get("tickets", ()):
            oid = ticket["order_id"]
            if oid not in self.shown:
                self.shown.add(oid)
                ledger.write("seen", {"r": self.rid, "k": self.station, "o": oid, "snap": 1})
        return snap["pos"], snap["epoch"]

    # -------------------------------------------------------------- acting

    @task
    def work(self) -> None:
        now = time.monotonic()
        if not self.due or self.due[0][0] > now:
            self.wake.clear()
            self.wake.wait(timeout=min(IDLE_S, self.due[0][0] - now) if self.due else IDLE_S)
            return
        _, oid = heapq.heappop(self.due)
        self.scheduled.discard(oid)
        view = self.views.get(oid)
        if view is None:
            return
        action = self._next(view[1])
        if action is not None:
            self.act(oid, action)

    def act(self, oid: str, action: str) -> None:
        name = "pass serve" if self.is_pass else f"kitchen {action}"
        with self.client.post(f"{self.base}/orders/{oid}/{action}", data=b"{}",
                              headers={**self.posting, **_key()}, name=name,
                              catch_response=True) as resp:
            if resp.status_code == 409 and "illegal_transition" in resp.text:
                stale(self.environment, resp, name)  # the ticket moved under the screen
                return
            if resp.status_code != 200:
                resp.failure(f"{resp.status_code}: {resp.text[:200]}")
                return
            answer = resp.json()
        order = answer["order"]
        if self.is_pass and not any(ln["status"] in (*OPEN, "ready") for ln in order["lines"]):
            self._served(order)
        self._update(answer.get("pos", "0-0"), order)

    def _served(self, order: dict[str, Any]) -> None:
        _, ledger, _ = current.need()
        now = time.time() * 1000
        placed = self.placed_ms.pop(order["id"], None)
        if placed is not None:
            self.e2e(ORDER_LIFE, now - placed)
        ledger.write("served", {"r": self.rid, "o": order["id"], "ms": int(now)})


# ---------------------------------------------------------------------------------- merchant


class Merchant(Person):
    """The table board (WebSocket) and the dashboard (reads)."""

    fixed_count = 0
    weight = 1  # ignored once fixed_count is set (at init, from the plan)
    wait_time = between(5, 15)

    def on_start(self) -> None:
        plan, _, _ = current.need()
        slot = self.hold("merchant", len(plan.restaurants))
        if slot is None:
            raise StopUser("every restaurant has its merchant")
        restaurant = plan.restaurant_slot(slot, spread=7)
        self.setup_person(restaurant, restaurant["merchant"])
        self.frames = 0
        self.watch(restaurant["merchant"], f"board:{self.rid}", "board-manager")
        gevent.sleep(random.uniform(0, 5))

    def on_event(self, frame: dict[str, Any], received_ms: float) -> None:
        self.frames += 1

    @task(3)
    def board(self) -> None:
        self.client.get(f"{self.base}/board", headers=self.auth, name="board")

    @task(1)
    def dashboard(self) -> None:
        self.client.get(f"{self.base}/stats/summary", headers=self.auth, name="stats summary")
