"""A quicker ``__init__`` for the frozen dataclasses made on every order.

A frozen dataclass's generated ``__init__`` sets each field with ``object.__setattr__``
(its own ``__setattr__`` refuses): a global lookup, an attribute lookup and a call per field.
An order line has 18 fields, and placing an order builds several lines, their order, the
table and the event, so that is most of the time spent making them. :func:`quick_init`
gives such a class an ``__init__`` with the same signature (names, defaults, default
factories, keyword-only parameters) that sets the instance's ``__dict__`` in one step. The
class stays frozen: assigning to a field still raises ``FrozenInstanceError``, and ``==``,
``hash``, ``repr`` and ``dataclasses.replace`` are dataclasses' own.

Classes it cannot speak for keep their generated ``__init__``: a class with ``__slots__``,
a ``__post_init__``, an ``InitVar`` or a field left out of ``__init__``.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any, TypeVar

T = TypeVar("T")


class _Factory:
    """The default of a field with a default factory (shown as dataclasses shows it)."""

    def __repr__(self) -> str:
        return "<factory>"


_MISSING = _Factory()


def quick_init(cls: type[T]) -> type[T]:
    """Decorate a ``@dataclass(frozen=True)`` class (put this above the dataclass)."""
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen:
        raise TypeError(f"{cls.__name__} is not a frozen dataclass")
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    signature = inspect.signature(cls.__init__)
    names = [p for p in signature.parameters if p != "self"]
    by_name = {f.name: f for f in fields}
    if ("__slots__" in cls.__dict__ or hasattr(cls, "__post_init__")
            or sorted(names) != sorted(by_name)):
        return cls
    scope: dict[str, Any] = {"_set": object.__setattr__, "_MISSING": _MISSING}
    args, body, keyword_only = [], [], False
    for name in names:  # in the signature's order: keyword-only fields come last
        f = by_name[name]
        kind = signature.parameters[name].kind
        if kind is inspect.Parameter.KEYWORD_ONLY and not keyword_only:
            args.append("*")
            keyword_only = True
        if f.default_factory is not dataclasses.MISSING:
            scope[f"_factory_{f.name}"] = f.default_factory
            args.append(f"{f.name}=_MISSING")
            body.append(f"    if {f.name} is _MISSING:\n        {f.name} = _factory_{f.name}()")
        elif f.default is not dataclasses.MISSING:
            scope[f"_default_{f.name}"] = f.default
            args.append(f"{f.name}=_default_{f.name}")
        else:
            args.append(f.name)
    values = ", ".join(f"{f.name!r}: {f.name}" for f in fields)
    source = (f"def __init__(self, {', '.join(args)}):\n" + "".join(b + "\n" for b in body)
              + f"    _set(self, '__dict__', {{{values}}})\n")
    exec(source, scope)  # how dataclasses writes its own __init__
    init = scope["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__doc__ = cls.__init__.__doc__
    init.__annotations__ = dict(cls.__init__.__annotations__)
    type.__setattr__(cls, "__init__", init)
    return cls
