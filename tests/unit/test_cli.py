"""Exit codes and output of the headless verbs check, plan, import-arcus and
export-arcus, run through `arcus_tui.cli.main`; and the `python -m arcus_tui`
entry point in a real subprocess.

Exit codes: 0 usable / done (warnings included), 2 bad input (unusable file,
malformed JSON, refusing to overwrite). Never a traceback for bad input.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from arcus_tui.cli import main
from arcus_tui.model import load_cluster, parse_cluster

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "sample_clusters"
SEED = SAMPLES / "colocated.toml"
PROBLEM_LINE = re.compile(r"^(?P<file>.+):(?P<line>\d+): (?P<message>.+)$")

ARCUS_JSON = {
    "serviceCode": "test-cloud",
    "servers": [
        {"hostname": "cache001.arcus", "ip": "10.0.0.1", "config": {"port": "11211"}},
        {"hostname": "cache001.arcus", "ip": "10.0.0.1", "config": {"port": "11212"}},
        {"hostname": "cache002.arcus", "ip": "10.0.0.2", "config": {"port": "11211", "threads": "4"}},
        {"hostname": "cache002.arcus", "ip": "10.0.0.2", "config": {"port": "11212", "threads": "4"}},
        {"hostname": "cache003.arcus", "ip": "10.0.0.3", "config": {"port": "11211"}},
        {"hostname": "cache003.arcus", "ip": "10.0.0.3", "config": {"port": "11212"}},
    ],
    "config": {"threads": "6", "memlimit": "100", "connections": "1000"},
}
SEED_Z = "10.0.0.1:2181,10.0.0.2:2181,10.0.0.3:2181"

BAD_TOML = """[cluster]
service_code = "svc"
sssh_port = 22

[memcached]
memlimt = 5

[[host]]
name = "a"
address = "10.0.0.1"
zookeeper = true
memcached = [11211, 11211]
"""


@pytest.fixture
def run(capsys):
    def run(*argv):
        code = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        assert "Traceback" not in err
        return code, out, err
    return run


@pytest.fixture
def arcus_json(tmp_path):
    path = tmp_path / "test.json"
    path.write_text(json.dumps(ARCUS_JSON, indent=2))
    return path


def merged(document):
    top = document.get("config", {})
    return [(s["hostname"], s["ip"], {**top, **s["config"]}) for s in document["servers"]]


# --- check --------------------------------------------------------------------

def test_check_ok_exits_0_and_says_so(run):
    code, out, err = run("check", SEED)
    assert code == 0
    assert "ok" in out and "test-cloud" in out
    assert err == ""


def test_check_quiet_prints_nothing_when_fine(run):
    assert run("check", "-q", SEED) == (0, "", "")


def test_check_with_warnings_exits_0_and_prints_them(run):
    code, out, err = run("check", SAMPLES / "single-host.toml")
    assert code == 0
    lines = err.splitlines()
    assert lines and all(PROBLEM_LINE.match(line) for line in lines)
    assert all(": warning: " in line for line in lines)
    assert lines[0].startswith(f"{SAMPLES / 'single-host.toml'}:")


def test_check_with_errors_exits_2_with_one_line_per_problem(run, tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(BAD_TOML)
    code, out, err = run("check", path)
    assert code == 2
    assert out == ""
    problems = [PROBLEM_LINE.match(line) for line in err.splitlines()]
    assert all(problems), err
    assert {m["file"] for m in problems} == {str(path)}
    errors = {int(m["line"]) for m in problems if not m["message"].startswith("warning: ")}
    assert errors == {3, 6, 12}


@pytest.mark.parametrize("name", ["missing.toml", "a directory"])
def test_check_of_an_unreadable_file_exits_2(run, tmp_path, name):
    if name == "a directory":
        (tmp_path / name).mkdir()
    code, out, err = run("check", tmp_path / name)
    assert code == 2
    assert PROBLEM_LINE.match(err.strip())


def test_check_of_a_non_utf8_file_exits_2(run, tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'[cluster]\nservice_code = "caf\xe9"\n')
    code, _, err = run("check", path)
    assert code == 2
    assert err.startswith(f"{path}:2: ")


def test_check_of_a_toml_syntax_error_exits_2_with_its_line(run, tmp_path):
    path = tmp_path / "syntax.toml"
    path.write_text('[cluster]\nservice_code = "svc"\n[[host]]\nname = "a\naddress = "10.0.0.1"\n')
    code, _, err = run("check", path)
    assert code == 2
    assert err.startswith(f"{path}:4: ")


# --- import-arcus -------------------------------------------------------------

def test_import_to_stdout(run, arcus_json):
    code, out, err = run("import-arcus", arcus_json, "-z", SEED_Z, "--user", "arcus")
    assert code == 0
    result = parse_cluster(out, "stdout")
    assert result.ok
    assert [h.name for h in result.cluster.hosts if h.zookeeper] == ["cache001.arcus", "cache002.arcus",
                                                                      "cache003.arcus"]


def test_import_to_a_file_then_export_gives_the_same_nodes(run, arcus_json, tmp_path):
    output = tmp_path / "cluster.toml"
    code, out, err = run("import-arcus", arcus_json, "-z", SEED_Z, "--user", "arcus", "-o", output)
    assert code == 0
    assert out == ""
    assert load_cluster(output).service_code == "test-cloud"
    assert run("check", "-q", output)[0] == 0

    code, out, err = run("export-arcus", output)
    assert code == 0
    exported = json.loads(out)
    assert merged(exported) == merged(ARCUS_JSON)
    assert f"-z {SEED_Z}" in err


def test_import_with_external_zookeeper(run, arcus_json, tmp_path):
    output = tmp_path / "cluster.toml"
    code, _, _ = run("import-arcus", arcus_json, "-z", SEED_Z, "--external-zookeeper", "-o", output)
    assert code == 0
    cluster = load_cluster(output)
    assert cluster.zookeeper.servers == tuple(SEED_Z.split(","))
    assert not any(h.zookeeper for h in cluster.hosts)


def test_import_refuses_to_overwrite_without_force(run, arcus_json, tmp_path):
    output = tmp_path / "cluster.toml"
    output.write_text("# mine\n")
    code, out, err = run("import-arcus", arcus_json, "-z", SEED_Z, "-o", output)
    assert code == 2
    assert "--force" in err
    assert output.read_text() == "# mine\n"
    code, _, _ = run("import-arcus", arcus_json, "-z", SEED_Z, "-o", output, "--force")
    assert code == 0
    assert load_cluster(output).service_code == "test-cloud"


@pytest.mark.parametrize("content", [
    '{"serviceCode": "test-cloud", "servers": [',
    "not json at all",
    '{"serviceCode": "test-cloud", "servers": [{"hostname": "h", "ip": "10.0.0.1", "config": {}}]}',
    '{"serviceCode": "test-cloud", "servers": [{"hostname": "h", "ip": "10.0.0.1", "config": {"port": "x"}}]}',
    '{"serviceCode": "test-cloud", "servers": [{"hostname": "h", "ip": "10.0.0.1", "config": {"port": "99999"}}]}',
    '{"serviceCode": "bad code", "servers": [{"hostname": "h", "ip": "10.0.0.1", "config": {"port": "11211"}}]}',
    '{"serviceCode": "svc", "servers": [{"hostname": "bad host", "ip": "10.0.0.1", "config": {"port": "11211"}}]}',
    "[" * 50000,
], ids=lambda content: content[:48])
def test_import_of_bad_json_exits_2_and_writes_nothing(run, tmp_path, content):
    source = tmp_path / "bad.json"
    source.write_text(content)
    output = tmp_path / "out.toml"
    code, out, err = run("import-arcus", source, "-z", "10.0.0.1:2181", "-o", output)
    assert code == 2
    assert err.strip()
    assert not output.exists()


def test_import_of_a_missing_json_file_exits_2(run, tmp_path):
    code, _, err = run("import-arcus", tmp_path / "nope.json", "-z", SEED_Z)
    assert code == 2 and "nope.json" in err


def test_import_with_a_bad_zookeeper_list_exits_2(run, arcus_json):
    code, _, err = run("import-arcus", arcus_json, "-z", "10.0.0.1:2181,10.0.0.2")
    assert code == 2 and "10.0.0.2" in err


def test_import_into_a_missing_directory_exits_2(run, arcus_json, tmp_path):
    code, _, err = run("import-arcus", arcus_json, "-z", SEED_Z, "-o", tmp_path / "no" / "such" / "dir.toml")
    assert code == 2
    assert "dir.toml" in err


def test_import_without_zookeeper_is_a_usage_error(capsys, arcus_json):
    with pytest.raises(SystemExit) as caught:
        main(["import-arcus", str(arcus_json)])
    assert caught.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


# --- export-arcus -------------------------------------------------------------

def test_export_prints_arcus_json(run):
    code, out, err = run("export-arcus", SEED)
    assert code == 0
    document = json.loads(out)
    assert document["serviceCode"] == "test-cloud"
    assert len(document["servers"]) == 6


@pytest.mark.parametrize("make", ["bad", "missing"])
def test_export_of_an_unusable_file_exits_2_and_prints_no_json(run, tmp_path, make):
    path = tmp_path / "c.toml"
    if make == "bad":
        path.write_text(BAD_TOML)
    code, out, err = run("export-arcus", path)
    assert code == 2
    assert out == ""
    assert err.startswith(f"{path}:")


# --- plan ---------------------------------------------------------------------

@pytest.mark.parametrize("sample", sorted(SAMPLES.glob("*.toml")), ids=lambda p: p.name)
def test_plan_of_every_sample_exits_0(run, sample):
    code, out, _ = run("plan", sample)
    assert code == 0
    assert "memcached" in out
    code, out, _ = run("plan", "--teardown", sample)
    assert code == 0


def test_plan_prints_the_commands(run):
    code, out, _ = run("plan", SEED)
    assert code == 0
    assert "server.3=10.0.0.3:2888:3888" in out
    assert "-z 10.0.0.1:2181,10.0.0.2:2181,10.0.0.3:2181" in out
    assert out.index("zookeeper-start") < out.index("register") < out.index("memcached-start")


@pytest.mark.parametrize("make", ["bad", "missing"])
def test_plan_of_an_unusable_file_exits_2(run, tmp_path, make):
    path = tmp_path / "c.toml"
    if make == "bad":
        path.write_text(BAD_TOML)
    code, out, err = run("plan", path)
    assert code == 2
    assert out == ""
    assert all(PROBLEM_LINE.match(line) for line in err.splitlines())


# --- the real entry point -----------------------------------------------------

def _python_m(*argv, cwd):
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "arcus_tui", *map(str, argv)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


def test_python_m_arcus_tui_check(tmp_path):
    result = _python_m("check", SEED, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "ok" in result.stdout

    bad = tmp_path / "bad.toml"
    bad.write_text(BAD_TOML + "\n[zookeper]\n")
    result = _python_m("check", bad, cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"{bad}:14: unknown section [zookeper]" in result.stderr
