"""Name -> component registries."""

import pytest

import dprune  # noqa: F401  (registers the built-in components)
from dprune.core.registry import PRUNERS, SCORERS, Registry


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(KeyError) as info:
        PRUNERS.get("top_kk")
    assert "Unknown pruner 'top_kk'" in str(info.value)
    for name in PRUNERS.names():
        assert name in str(info.value)


def test_duplicate_name_is_rejected():
    registry = Registry("thing")

    @registry.register("a")
    class A:
        pass

    with pytest.raises(ValueError, match="already registered"):

        @registry.register("a")
        class B:
            pass


def test_class_name_and_registry_name_both_resolve():
    registry = Registry("thing")

    @registry.register("my_thing")
    class MyThing:
        def __init__(self, x=1):
            self.x = x

    assert registry.get("MyThing") is registry.get("my_thing") is MyThing
    assert registry.build("my_thing", x=3).x == 3
    with pytest.raises(TypeError, match="Cannot build thing 'my_thing'"):
        registry.build("my_thing", y=3)


def test_builtins_are_registered():
    assert {"top_k", "bottom_k", "random", "stratified"} <= set(PRUNERS.names())
    assert "kmeans_centroid_distance" in SCORERS
