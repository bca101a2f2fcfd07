"""Layout edits on the cluster file's TOML: comments survive, bad edits are refused, saves are atomic."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import tomlkit

from arcus_tui.model import check_cluster_file, parse_cluster
from arcus_tui.model.edit import (
    ClusterDocument,
    EditError,
    add_host,
    add_port,
    remove_host,
    remove_port,
    set_cluster_setting,
    set_node_setting,
    toggle_zookeeper,
)

SAMPLE = Path(__file__).resolve().parents[2] / "sample_clusters" / "colocated.toml"
TEXT = SAMPLE.read_text(encoding="utf-8")
COMMENTS = [line for line in TEXT.splitlines() if line.lstrip().startswith("#")]


def edited(edit, *args):
    doc = tomlkit.parse(TEXT)
    edit(doc, *args)
    text = tomlkit.dumps(doc)
    result = parse_cluster(text, "colocated.toml")
    assert result.ok, [p.format("colocated.toml") for p in result.problems]
    lines = text.splitlines()
    assert all(comment in lines for comment in COMMENTS)
    return text, result.cluster


def test_add_host_appends_a_blank_line_separated_host():
    text, cluster = edited(add_host, "cache004.arcus", "10.0.0.4")
    assert [h.name for h in cluster.hosts][-1] == "cache004.arcus"
    assert cluster.hosts[-1].address == "10.0.0.4" and cluster.hosts[-1].memcached == ()
    assert '\n\n[[host]]\nname = "cache004.arcus"' in text


def test_remove_host():
    _, cluster = edited(remove_host, "cache002.arcus")
    assert [h.name for h in cluster.hosts] == ["cache001.arcus", "cache003.arcus"]


def test_toggle_zookeeper_off_and_on_again():
    doc = tomlkit.parse(TEXT)
    toggle_zookeeper(doc, "cache002.arcus")
    cluster = parse_cluster(tomlkit.dumps(doc)).cluster
    assert not cluster.host("cache002.arcus").zookeeper
    toggle_zookeeper(doc, "cache002.arcus")
    assert tomlkit.dumps(doc) == TEXT  # back where it was, line for line


def test_add_and_remove_port():
    _, cluster = edited(add_port, "cache001.arcus", 11213)
    assert cluster.host("cache001.arcus").ports == (11211, 11212, 11213)
    _, cluster = edited(remove_port, "cache003.arcus", 11211)
    assert cluster.host("cache003.arcus").ports == (11212,)


def test_node_setting_turns_a_port_into_a_table_and_back():
    doc = tomlkit.parse(TEXT)
    set_node_setting(doc, "cache001.arcus", 11212, "memlimit", 512)
    text = tomlkit.dumps(doc)
    assert "memcached = [11211, { port = 11212, memlimit = 512 }]" in text
    node = parse_cluster(text).cluster.host("cache001.arcus").memcached[1]
    assert (node.port, node.memlimit) == (11212, 512)
    set_node_setting(doc, "cache001.arcus", 11212, "threads", 4)
    assert "{ port = 11212, memlimit = 512, threads = 4 }" in tomlkit.dumps(doc)
    set_node_setting(doc, "cache001.arcus", 11212, "threads", None)
    set_node_setting(doc, "cache001.arcus", 11212, "memlimit", None)
    assert tomlkit.dumps(doc) == TEXT


def test_cluster_setting():
    _, cluster = edited(set_cluster_setting, "memcached", "memlimit", 256)
    assert cluster.memcached.memlimit == 256
    _, cluster = edited(set_cluster_setting, "zookeeper", "tick_time", 3000)
    assert cluster.zookeeper.tick_time == 3000


@pytest.fixture
def document(tmp_path):
    path = tmp_path / "cluster.toml"
    path.write_text(TEXT, encoding="utf-8")
    os.chmod(path, 0o600)
    return ClusterDocument.load(path)


@pytest.mark.parametrize("edit, args, message", [
    (add_port, ("cache001.arcus", 11211), "lists memcached port 11211 twice"),
    (add_port, ("cache001.arcus", 70000), "port 70000 is outside 1-65535"),
    (add_host, ("bad name", "10.0.0.9"), "is not a plain name"),
    (add_host, ("cache001.arcus", "10.0.0.9"), "is used twice"),
    (remove_port, ("cache001.arcus", 1), "has no memcached port 1"),
    (toggle_zookeeper, ("nosuch",), "no host named 'nosuch'"),
])
def test_invalid_edits_are_refused_and_change_nothing(document, edit, args, message):
    before = document.cluster
    with pytest.raises(EditError) as raised:
        document.apply(edit, *args)
    assert any(message in line for line in raised.value.problems)
    assert document.text == TEXT and document.cluster is before and not document.modified


def test_refused_problems_name_file_and_line(document):
    with pytest.raises(EditError) as raised:
        document.apply(add_port, "cache001.arcus", 70000)
    assert raised.value.problems[0].startswith(f"{document.path}:26: ")


def test_apply_returns_the_new_cluster_and_marks_modified(document):
    cluster = document.apply(toggle_zookeeper, "cache003.arcus")
    assert not cluster.host("cache003.arcus").zookeeper and document.cluster is cluster
    assert document.modified


def test_save_is_atomic_keeps_mode_and_comments(document, monkeypatch):
    path = document.path
    assert document.save() is False  # nothing changed: the file is not even touched
    document.apply(add_port, "cache002.arcus", 11213)
    replaced = []
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda src, dst: (replaced.append((src, dst)), real_replace(src, dst)))
    assert document.save() is True
    assert len(replaced) == 1 and Path(replaced[0][1]) == path and Path(replaced[0][0]).parent == path.parent
    assert oct(path.stat().st_mode & 0o777) == oct(0o600)
    saved = path.read_text(encoding="utf-8")
    assert all(comment in saved.splitlines() for comment in COMMENTS)
    result = check_cluster_file(path)
    assert result.ok and result.cluster.host("cache002.arcus").ports == (11211, 11212, 11213)
    assert not document.modified and document.save() is False
    assert sorted(p.name for p in path.parent.iterdir()) == ["cluster.toml"]  # no temp file left


def test_failed_save_leaves_the_file_and_no_temp(document, monkeypatch):
    document.apply(add_port, "cache002.arcus", 11213)

    def broken(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError):
        document.save()
    assert document.path.read_text(encoding="utf-8") == TEXT and document.modified
    assert sorted(p.name for p in document.path.parent.iterdir()) == ["cluster.toml"]


def test_save_through_a_symlink_keeps_the_link_and_writes_its_target(tmp_path):
    real_dir = tmp_path / "configs"
    real_dir.mkdir()
    target = real_dir / "cluster.toml"
    target.write_text(TEXT, encoding="utf-8")
    target.chmod(0o640)
    link = tmp_path / "current.toml"
    link.symlink_to(Path("configs") / "cluster.toml")  # relative, as operators make them
    document = ClusterDocument.load(link)
    document.apply(add_port, "cache002.arcus", 11213)
    assert document.save() is True
    assert link.is_symlink() and os.readlink(link) == str(Path("configs") / "cluster.toml")
    assert check_cluster_file(target).cluster.host("cache002.arcus").ports == (11211, 11212, 11213)
    assert oct(target.stat().st_mode & 0o777) == oct(0o640)
    assert sorted(p.name for p in real_dir.iterdir()) == ["cluster.toml"]  # the temp file went beside the target
    assert sorted(p.name for p in tmp_path.iterdir()) == ["configs", "current.toml"]


def test_a_file_with_errors_cannot_be_edited(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(TEXT.replace("[11211, 11212]", "[11211, 70000]", 1), encoding="utf-8")
    with pytest.raises(EditError) as raised:
        ClusterDocument.load(path)
    assert "port 70000" in raised.value.problems[0]
