"""The pure core imports no I/O library, so its rules run and test without servers."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PURE = ["model", "dishflow", "tables", "ordering", "events", "codec", "channels", "tokens",
        "errors", "escpos", "keys"]
IO = {"redis", "asyncpg", "starlette", "websockets", "uvicorn", "httpx", "socket", "asyncio"}
ROOT = Path(__file__).resolve().parents[2] / "kitchen"


@pytest.mark.parametrize("module", PURE)
def test_pure_module_imports_no_io(module: str) -> None:
    """A pure core module imports none of redis, asyncpg, starlette, websockets or sockets."""
    tree = ast.parse((ROOT / f"{module}.py").read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    assert not names & IO
