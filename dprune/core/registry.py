"""Name -> component registries, so configs can name scorers and pruners.

Each component registers under a short snake_case name; its class name is
accepted too. Registering a name twice raises, and an unknown name raises
``KeyError`` listing the names that are known.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, TypeVar

T = TypeVar("T", bound=type)


class Registry:
    """A mapping from component names to classes of one kind (scorer or pruner)."""

    def __init__(self, kind: str):
        self.kind = kind
        self._classes: dict[str, type] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Class decorator registering the class under ``name``."""

        def decorator(cls: T) -> T:
            if name in self._classes and self._classes[name] is not cls:
                raise ValueError(
                    f"A {self.kind} named {name!r} is already registered "
                    f"({self._classes[name].__qualname__}); choose another name."
                )
            self._classes[name] = cls
            cls.registry_name = name
            return cls

        return decorator

    def get(self, name: str) -> type:
        """Return the class registered as ``name`` (or whose class name is ``name``)."""
        if name in self._classes:
            return self._classes[name]
        for cls in self._classes.values():
            if cls.__name__ == name:
                return cls
        raise KeyError(
            f"Unknown {self.kind} {name!r}. Known {self.kind}s: {', '.join(self.names())}."
        )

    def build(self, name: str, **params: Any) -> Any:
        """Instantiate the component ``name`` with keyword parameters."""
        cls = self.get(name)
        try:
            return cls(**params)
        except TypeError as error:
            raise TypeError(f"Cannot build {self.kind} {name!r} from {sorted(params)}: {error}") from error

    def names(self) -> list[str]:
        """Registered names, sorted."""
        return sorted(self._classes)

    def items(self) -> list[tuple[str, type]]:
        """(name, class) pairs, sorted by name."""
        return sorted(self._classes.items())

    def __contains__(self, name: str) -> bool:
        try:
            self.get(name)
        except KeyError:
            return False
        return True


SCORERS = Registry("scorer")
PRUNERS = Registry("pruner")
register_scorer = SCORERS.register
register_pruner = PRUNERS.register


@dataclass(frozen=True)
class ComponentSpec:
    """A registry name plus keyword parameters, as written in a config file."""

    name: str
    params: Mapping[str, Any]

    @classmethod
    def parse(cls, spec: "ComponentSpec | Mapping[str, Any] | str") -> "ComponentSpec":
        """Accept ``"top_k"``, ``{"name": "top_k", "params": {...}}`` or ``{"name": "top_k", "k": 0.5}``."""
        if isinstance(spec, ComponentSpec):
            return spec
        if isinstance(spec, str):
            return cls(spec, {})
        if isinstance(spec, Mapping) and "name" in spec:
            extra = {k: v for k, v in spec.items() if k not in ("name", "params")}
            return cls(str(spec["name"]), {**dict(spec.get("params") or {}), **extra})
        raise ValueError(
            f"A component spec must be a name or a mapping with a 'name' key (and optional 'params'). Got {spec!r}."
        )

    def build_scorer(self) -> Any:
        """Instantiate the registered scorer."""
        return SCORERS.build(self.name, **self.params)

    def build_pruner(self) -> Any:
        """Instantiate the registered pruner."""
        return PRUNERS.build(self.name, **self.params)
