"""Declared parameter constraints and the one validation message shape.

Every component states the allowed values of its constructor parameters as a
dictionary of constraints. :func:`validate_params` checks them when the work
starts and raises ``InvalidParameterError`` with one message shape::

    The 'k' parameter of TopKPruner must be a float in (0, 1] or an int >= 1. Got 1.5 instead.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping


class InvalidParameterError(ValueError, TypeError):
    """A component parameter has a value outside its declared constraints.

    It subclasses both ``ValueError`` and ``TypeError`` so callers catching
    either (wrong value or wrong type) see it.
    """


class Constraint:
    """One allowed family of values; subclasses implement ``accepts`` and ``describe``."""

    def accepts(self, value: Any) -> bool:  # pragma: no cover - interface
        raise NotImplementedError

    def describe(self) -> str:  # pragma: no cover - interface
        raise NotImplementedError


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


@dataclass(frozen=True)
class Interval(Constraint):
    """A number of a given kind (``int`` or ``float``) within bounds.

    ``kind=int`` accepts integers only; ``kind=float`` accepts floats only
    (an ``int`` is deliberately *not* a float here, because budgets use the
    type to tell a count from a fraction). Use ``kind="real"`` for any number.
    """

    kind: Any
    left: float | None = None
    right: float | None = None
    closed: str = "both"  # "both", "left", "right", "neither"

    def accepts(self, value: Any) -> bool:
        if self.kind is int:
            if not _is_int(value):
                return False
        elif self.kind is float:
            if not (isinstance(value, numbers.Real) and not _is_int(value) and not isinstance(value, bool)):
                return False
        elif not _is_real(value):
            return False
        if isinstance(value, float) and math.isnan(value):
            return False
        left_ok = self.left is None or (
            value >= self.left if self.closed in ("both", "left") else value > self.left
        )
        right_ok = self.right is None or (
            value <= self.right if self.closed in ("both", "right") else value < self.right
        )
        return left_ok and right_ok

    def describe(self) -> str:
        name = {int: "an int", float: "a float"}.get(self.kind, "a number")
        if self.left is not None and self.right is not None:
            lb = "[" if self.closed in ("both", "left") else "("
            rb = "]" if self.closed in ("both", "right") else ")"
            return f"{name} in {lb}{self.left:g}, {self.right:g}{rb}"
        if self.left is not None:
            op = ">=" if self.closed in ("both", "left") else ">"
            return f"{name} {op} {self.left:g}"
        if self.right is not None:
            op = "<=" if self.closed in ("both", "right") else "<"
            return f"{name} {op} {self.right:g}"
        return name


@dataclass(frozen=True)
class Options(Constraint):
    """One of a fixed set of values (compared with ``==``)."""

    values: tuple

    def __init__(self, values: Iterable[Any]):
        object.__setattr__(self, "values", tuple(values))

    def accepts(self, value: Any) -> bool:
        return any(value == v and type(value) is type(v) for v in self.values)

    def describe(self) -> str:
        return "one of {" + ", ".join(repr(v) for v in self.values) + "}"


@dataclass(frozen=True)
class InstanceOf(Constraint):
    """An instance of one of the given types (``bool`` never counts as a number)."""

    types: tuple
    label: str | None = None

    def __init__(self, *types: type, label: str | None = None):
        object.__setattr__(self, "types", types)
        object.__setattr__(self, "label", label)

    def accepts(self, value: Any) -> bool:
        if isinstance(value, bool) and bool not in self.types:
            return False
        return isinstance(value, self.types)

    def describe(self) -> str:
        if self.label:
            return self.label
        names = [t.__name__ for t in self.types]
        return ("an instance of " if len(names) == 1 else "an instance of one of ") + ", ".join(names)


@dataclass(frozen=True)
class Predicate(Constraint):
    """Any value for which ``check(value)`` is true; ``label`` says what that means."""

    check: Callable[[Any], bool]
    label: str

    def accepts(self, value: Any) -> bool:
        try:
            return bool(self.check(value))
        except Exception:
            return False

    def describe(self) -> str:
        return self.label


NONE = Predicate(lambda v: v is None, "None")
NON_EMPTY_STR = Predicate(lambda v: isinstance(v, str) and len(v) > 0, "a non-empty str")
BOOL = InstanceOf(bool, label="a bool")
CALLABLE = Predicate(callable, "a callable")
SEED = Predicate(lambda v: v is None or (_is_int(v) and v >= 0), "None or an int >= 0")


def _join(descriptions: list[str]) -> str:
    if len(descriptions) == 1:
        return descriptions[0]
    return ", ".join(descriptions[:-1]) + " or " + descriptions[-1]


def check_param(owner: str, name: str, value: Any, constraints: list[Constraint]) -> None:
    """Raise ``InvalidParameterError`` unless ``value`` meets one of ``constraints``."""
    if any(c.accepts(value) for c in constraints):
        return
    expected = _join([c.describe() for c in constraints])
    raise InvalidParameterError(
        f"The {name!r} parameter of {owner} must be {expected}. Got {value!r} instead."
    )


def validate_params(owner: str, params: Mapping[str, Any], constraints: Mapping[str, list[Constraint]]) -> None:
    """Check every parameter that has declared constraints."""
    for name, allowed in constraints.items():
        if name in params:
            check_param(owner, name, params[name], allowed)
