"""The one registry mechanism: built-ins, in-process registrations and real entry-point plugins."""

from __future__ import annotations

import sys
import textwrap

import pytest

from indexer.errors import ComponentUnavailable, EncoderUnavailable
from indexer.registry import Registry


@pytest.fixture
def plugin_dist(tmp_path, monkeypatch):
    """An installed distribution on sys.path with two entry points in group ``scout.widgets``:
    ``good`` (a working loader) and ``broken`` (its module raises on import)."""
    (tmp_path / "widget_plugin.py").write_text("def load(args):\n    return f'widget {args}'\n")
    (tmp_path / "broken_plugin.py").write_text("raise RuntimeError('plugin author forgot a file')\n")
    dist = tmp_path / "widget_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: widget-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(textwrap.dedent("""\
        [scout.widgets]
        good = widget_plugin:load
        broken = broken_plugin:load
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    for name in ("widget_plugin", "broken_plugin"):
        sys.modules.pop(name, None)


def test_builtins_are_imported_only_when_used():
    registry = Registry("widget", "scout.widgets", {"json": "json:dumps"})
    assert registry.names() == ["json"]
    assert registry.loader("json")([1]) == "[1]"


def test_entry_point_plugins_go_through_the_same_path(plugin_dist):
    registry = Registry("widget", "scout.widgets", {})
    assert {"good", "broken"} <= set(registry.names())
    assert registry.loader("good")("x") == "widget x"


def test_a_plugin_that_fails_to_import_is_a_scout_error(plugin_dist):
    registry = Registry("widget", "scout.widgets", {})
    with pytest.raises(ComponentUnavailable) as info:
        registry.loader("broken")
    assert "widget plugin 'broken'" in info.value.message and "forgot a file" in info.value.message
    assert "scout.widgets" in info.value.hint


def test_a_builtin_with_a_missing_dependency_is_a_scout_error():
    registry = Registry("widget", "scout.widgets", {"fancy": "no_such_module_for_scout:load"},
                        error=EncoderUnavailable)
    with pytest.raises(EncoderUnavailable, match="no_such_module_for_scout"):
        registry.loader("fancy")


def test_unknown_names_list_the_known_ones():
    registry = Registry("widget", "scout.widgets", {"a": "json:dumps", "b": "json:loads"}, example="--widget a")
    with pytest.raises(ComponentUnavailable) as info:
        registry.loader("c")
    assert "Unknown widget backend 'c'" in info.value.message
    assert "a, b" in info.value.hint and "--widget a" in info.value.hint


def test_registered_context_restores_what_was_there():
    registry = Registry("widget", "scout.widgets", {})
    registry.register("w", lambda: 1)
    with registry.registered("w", lambda: 2):
        assert registry.loader("w")() == 2
        with registry.registered("v", lambda: 3):
            assert registry.loader("v")() == 3
    assert registry.loader("w")() == 1
    with pytest.raises(ComponentUnavailable):
        registry.loader("v")
