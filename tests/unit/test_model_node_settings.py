"""The node settings have one table (model/node_settings.py); everything else derives from it."""

from __future__ import annotations

from dataclasses import fields

from arcus_tui.model import MemcachedNode, NodeSettings
from arcus_tui.model.arcus_json import export_arcus
from arcus_tui.model.cluster import Cluster
from arcus_tui.model.node_settings import NODE_SETTING_KEYS, NODE_SETTINGS
from arcus_tui.model.schema import MEMCACHED_KEYS, NODE_KEYS


def test_the_dataclasses_hold_exactly_the_settings_of_the_table():
    assert tuple(field.name for field in fields(NodeSettings)) == NODE_SETTING_KEYS
    assert tuple(field.name for field in fields(MemcachedNode) if field.name != "port") == NODE_SETTING_KEYS


def test_defaults_come_from_the_table():
    assert {key: getattr(NodeSettings(), key) for key in NODE_SETTING_KEYS} == {
        setting.name: setting.default for setting in NODE_SETTINGS}
    assert export_arcus(Cluster("svc"))["config"] == {setting.name: str(setting.default) for setting in NODE_SETTINGS}


def test_the_schema_checks_each_setting_with_its_bounds():
    assert tuple(MEMCACHED_KEYS) == NODE_SETTING_KEYS and set(NODE_SETTING_KEYS) < set(NODE_KEYS)
    for setting in NODE_SETTINGS:
        spec = MEMCACHED_KEYS[setting.name]
        assert spec.check(setting.bounds.low) is None and spec.check(setting.bounds.high) is None
        assert spec.check(setting.bounds.low - 1) and spec.check(setting.bounds.high + 1)
        assert spec.warn(setting.bounds.usual + 1) and spec.warn(setting.bounds.usual) is None
        assert setting.option in spec.doc
