"""What every user of one load-generator process shares: the plan, the ledger, the options.

Filled once by the ``init`` listener of the locustfile (:func:`setup`), in the master, every
worker and a local run alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loadtests.ledger import Ledger
from loadtests.plan import Plan


@dataclass
class Runtime:
    plan: Plan | None = None
    ledger: Ledger | None = None
    options: Any = None

    def need(self) -> tuple[Plan, Ledger, Any]:
        if self.plan is None or self.ledger is None:
            raise RuntimeError("no plan loaded: run with --plan PATH (python -m loadtests.seed)")
        return self.plan, self.ledger, self.options


current = Runtime()


def setup(options: Any) -> Runtime:
    plan_path = Path(options.plan)
    if plan_path.exists():
        current.plan = Plan.load(plan_path)
    current.ledger = Ledger(Path(options.run_dir))
    current.options = options
    return current
