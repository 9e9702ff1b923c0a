"""API modules that hold rules or data stay free of I/O."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PURE = ["estimates", "views", "menu_edit", "ratelimit", "limits", "schemas"]
IO = {"redis", "asyncpg", "starlette", "websockets", "uvicorn", "httpx", "socket", "asyncio"}


@pytest.mark.parametrize("module", PURE)
def test_pure_api_modules_import_no_io(module: str) -> None:
    """Estimates, views, menu edits and limits import no I/O library (rate limiting only its
    Redis call)."""
    tree = ast.parse((Path(__file__).resolve().parents[2] / "api" / f"{module}.py").read_text())
    names = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import)
             for a in n.names}
    names |= {n.module.split(".")[0] for n in ast.walk(tree)
              if isinstance(n, ast.ImportFrom) and n.module}
    allowed = {"redis"} if module == "ratelimit" else set()
    assert not (names & IO) - allowed
