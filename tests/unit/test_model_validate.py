"""Every validation rule of issue 2 item 3, each with the exact line it must name.

Each TOML text marks the line a problem must point at with `# <-`; the expected
line number is read from the text, so the tests say where a person would look,
not where the implementation happens to look.
"""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest

from arcus_tui.model import Severity, check_cluster_file, parse_cluster

SAMPLES = Path(__file__).resolve().parents[2] / "sample_clusters"
MARK = "# <-"

THREE_MEMBERS = """
[cluster]
service_code = "svc"

[zookeeper]
client_port = 2181

[memcached]
threads = 6

[[host]]
name = "a"
address = "10.0.0.1"
zookeeper = true
memcached = [11211, 11212]

[[host]]
name = "b"
address = "10.0.0.2"
zookeeper = true
memcached = [11211, 11212]

[[host]]
name = "c"
address = "10.0.0.3"
zookeeper = true
memcached = [11211, 11212]
"""


def check(text: str):
    return parse_cluster(textwrap.dedent(text), "c.toml")


def marked_lines(text: str) -> list[int]:
    lines = textwrap.dedent(text).splitlines()
    found = [number for number, line in enumerate(lines, start=1) if MARK in line]
    assert found, "test text has no marked line"
    return found


def describe(result) -> str:
    return "\n".join(p.format("c.toml") for p in result.problems) or "(no problems)"


def assert_error(text: str, *words: str, line: int | None = None):
    """An error on the marked line (or `line`) whose message names every word; exit status would be non-zero."""
    result = check(text)
    expected = line if line is not None else marked_lines(text)[0]
    assert not result.ok and result.cluster is None, describe(result)
    hits = [p for p in result.errors if p.line == expected and all(w in p.message for w in words)]
    assert hits, f"expected an error at line {expected} naming {words}, got:\n{describe(result)}"
    return hits[0]


def assert_ok(text: str):
    result = check(text)
    assert result.ok, describe(result)
    return result


def with_host_line(base: str, host: str, key_line: str) -> str:
    """`base` with `key_line` added to host `host` (after its name line)."""
    return base.replace(f'name = "{host}"\n', f'name = "{host}"\n{key_line}\n', 1)


def test_the_base_text_is_valid():
    result = assert_ok(THREE_MEMBERS)
    assert result.problems == []


def test_problems_format_as_file_line_message():
    text = with_host_line(THREE_MEMBERS, "b", "colour = 1  # <-")
    result = check(text)
    line = marked_lines(text)[0]
    assert [p.format("conf/c.toml") for p in result.errors] == [f"conf/c.toml:{line}: {result.errors[0].message}"]
    assert "colour" in result.errors[0].message and "'b'" in result.errors[0].message


def test_every_problem_is_reported_not_just_the_first():
    text = THREE_MEMBERS.replace('service_code = "svc"', 'service_code = "svc"\nsssh_port = 22  # <-').replace(
        "threads = 6", "threads = 6\nmemlimt = 5  # <-")
    result = check(text)
    assert sorted(p.line for p in result.errors) == marked_lines(text)


# --- unknown keys and sections ------------------------------------------------

def test_unknown_key_in_memcached_suggests_memlimit():
    text = THREE_MEMBERS.replace("threads = 6", "threads = 6\nmemlimt = 512  # <-")
    problem = assert_error(text, "memlimt", "memlimit")
    assert "did you mean" in problem.message


def test_unknown_key_in_cluster_is_named():
    text = THREE_MEMBERS.replace('service_code = "svc"', 'service_code = "svc"\nsssh_port = 22  # <-')
    assert_error(text, "sssh_port", "'ssh_port'")


def test_unknown_key_in_zookeeper_suggests_the_close_key():
    text = THREE_MEMBERS.replace("client_port = 2181", "client_port = 2181\nclientport = 2182  # <-")
    assert_error(text, "clientport", "client_port")


def test_unknown_key_in_a_host_names_the_host_and_suggests():
    text = with_host_line(THREE_MEMBERS, "b", "adress = \"10.0.0.9\"  # <-")
    assert_error(text, "adress", "'b'", "'address'")


def test_unknown_key_in_a_memcached_node_table_names_it():
    text = THREE_MEMBERS.replace(
        'name = "c"\naddress = "10.0.0.3"\nzookeeper = true\nmemcached = [11211, 11212]',
        'name = "c"\naddress = "10.0.0.3"\nzookeeper = true\nmemcached = [{ port = 11211, memlimt = 5 }]  # <-')
    assert_error(text, "memlimt", "memlimit", "'c'")


def test_unknown_key_far_from_any_known_one_gets_no_suggestion():
    text = THREE_MEMBERS.replace("threads = 6", "threads = 6\nflavour = 5  # <-")
    problem = assert_error(text, "flavour")
    assert "did you mean" not in problem.message


@pytest.mark.parametrize("header, typo, known", [
    ("[zookeeper]", "[zookeper]", "zookeeper"),
    ("[memcached]", "[memcache]", "memcached"),
    ("[cluster]", "[clusters]", "cluster"),
])
def test_unknown_section_suggests_the_known_one(header, typo, known):
    text = THREE_MEMBERS.replace(header, f"{typo}  # <-")
    problem = assert_error(text, typo.strip("[]"), repr(known))
    assert "did you mean" in problem.message


def test_misspelled_host_array_points_at_its_first_header():
    text = THREE_MEMBERS + '\n[[hosts]]  # <-\nname = "d"\naddress = "10.0.0.4"\n\n[[hosts]]\nname = "e"\n'
    assert_error(text, "hosts", "'host'")


def test_unknown_section_without_a_close_name():
    text = THREE_MEMBERS + "\n[backup]  # <-\nkeep = 3\n"
    problem = assert_error(text, "backup")
    assert "did you mean" not in problem.message


def test_host_written_as_a_single_table_is_an_error():
    text = '[cluster]\nservice_code = "svc"\n[host]  # <-\nname = "a"\naddress = "10.0.0.1"\nzookeeper = true\n'
    assert_error(text, "[[host]]")


# --- wrong types --------------------------------------------------------------

@pytest.mark.parametrize("before, after, words", [
    ('service_code = "svc"', "service_code = 5  # <-", ("service_code", "string")),
    ('service_code = "svc"', 'service_code = "svc"\nssh_port = "22"  # <-', ("ssh_port", "whole number")),
    ('service_code = "svc"', 'service_code = "svc"\nssh_port = true  # <-', ("ssh_port", "whole number")),
    ('service_code = "svc"', 'service_code = "svc"\nssh_port = 22.0  # <-', ("ssh_port",)),
    ('service_code = "svc"', 'service_code = "svc"\ninstall_dir = 5  # <-', ("install_dir",)),
    ('service_code = "svc"', 'service_code = "svc"\nbind_address = "yes"  # <-', ("bind_address", "true or false")),
    ('service_code = "svc"', 'service_code = "svc"\nuser = ["arcus"]  # <-', ("user",)),
    ("client_port = 2181", 'client_port = "2181"  # <-', ("client_port",)),
    ("client_port = 2181", 'client_port = 2181\nservers = "10.0.0.9:2181"  # <-', ("servers", "list")),
    ("threads = 6", "threads = 6.5  # <-", ("threads", "whole number")),
    ("threads = 6", "threads = true  # <-", ("threads", "whole number")),
    ("threads = 6", 'threads = "6"  # <-', ("threads",)),
])
def test_wrong_types_in_sections(before, after, words):
    assert_error(THREE_MEMBERS.replace(before, after, 1), *words)


@pytest.mark.parametrize("key_line, words", [
    ("zookeeper = 1  # <-", ("zookeeper", "true or false", "'b'")),
    ('zookeeper = "yes"  # <-', ("zookeeper", "'b'")),
    ("ssh_port = false  # <-", ("ssh_port", "'b'")),
    ('user = 0  # <-', ("user", "'b'")),
])
def test_wrong_types_in_a_host(key_line, words):
    text = THREE_MEMBERS.replace('name = "b"\naddress = "10.0.0.2"\nzookeeper = true\n',
                                 f'name = "b"\naddress = "10.0.0.2"\n{key_line}\n')
    assert_error(text, *words)


@pytest.mark.parametrize("value, words", [
    ("11211", ("memcached", "list")),
    ('["11211"]', ("'11211'",)),
    ("[true]", ("True",)),
    ("[11211.0]", ("11211.0",)),
    ("[[11211]]", ("memcached",)),
    ("[{ port = 11211, threads = true }]", ("threads", "whole number")),
    ('[{ port = "11211" }]', ("port", "whole number")),
])
def test_wrong_types_in_memcached_entries(value, words):
    text = THREE_MEMBERS.replace('address = "10.0.0.2"\nzookeeper = true\nmemcached = [11211, 11212]',
                                 f'address = "10.0.0.2"\nzookeeper = true\nmemcached = {value}  # <-')
    assert_error(text, *words)


def test_section_that_is_not_a_table():
    text = 'cluster = "svc"  # <-\n' + THREE_MEMBERS.replace('[cluster]\nservice_code = "svc"\n', "")
    assert_error(text, "[cluster]", "table")


def test_servers_entries_must_be_strings():
    text = THREE_MEMBERS.replace("client_port = 2181", "servers = [2181]  # <-")
    assert_error(text, "servers", "2181")


# --- ports outside 1-65535 ----------------------------------------------------

@pytest.mark.parametrize("bad", [0, 65536, -22, 100000])
def test_ssh_port_out_of_range_in_cluster_and_host(bad):
    assert_error(THREE_MEMBERS.replace('service_code = "svc"', f'service_code = "svc"\nssh_port = {bad}  # <-'),
                 "ssh_port", str(bad))
    assert_error(with_host_line(THREE_MEMBERS, "c", f"ssh_port = {bad}  # <-"), "ssh_port", str(bad), "'c'")


@pytest.mark.parametrize("key", ["client_port", "quorum_port", "election_port"])
@pytest.mark.parametrize("bad", [0, 65536])
def test_zookeeper_ports_out_of_range(key, bad):
    text = THREE_MEMBERS.replace("client_port = 2181", f"{key} = {bad}  # <-")
    assert_error(text, key, str(bad))


@pytest.mark.parametrize("value, bad", [
    ("[0, 11212]", "0"),
    ("[11211, 65536]", "65536"),
    ("[{ port = 65536 }]", "65536"),
    ("[{ port = 0, memlimit = 64 }]", "0"),
    ("[-1]", "-1"),
])
def test_memcached_ports_out_of_range(value, bad):
    text = THREE_MEMBERS.replace('address = "10.0.0.3"\nzookeeper = true\nmemcached = [11211, 11212]',
                                 f'address = "10.0.0.3"\nzookeeper = true\nmemcached = {value}  # <-')
    assert_error(text, "port", bad, "'c'")


def test_memcached_port_out_of_range_in_a_multi_line_array_points_at_the_key():
    text = THREE_MEMBERS.replace(
        'address = "10.0.0.3"\nzookeeper = true\nmemcached = [11211, 11212]',
        'address = "10.0.0.3"\nzookeeper = true\nmemcached = [  # <-\n    { port = 11211 },\n    { port = 99999 },\n]')
    assert_error(text, "99999")


@pytest.mark.parametrize("server", ["10.0.0.9:0", "10.0.0.9:65536", "10.0.0.9", "10.0.0.9:", "zk host:2181",
                                    "10.0.0.9:2181;reboot"])
def test_bad_external_server_entries(server):
    text = textwrap.dedent(f"""
        [cluster]
        service_code = "svc"
        [zookeeper]
        servers = ["10.0.0.8:2181", {json.dumps(server)}, "10.0.0.10:2181"]  # <-
        [[host]]
        name = "mc"
        address = "10.0.0.1"
        memcached = [11211]
    """)
    assert_error(text, "servers", server)


def test_port_boundaries_are_accepted():
    text = THREE_MEMBERS.replace("memcached = [11211, 11212]", "memcached = [1, 65535]", 1)
    text = with_host_line(text, "b", "ssh_port = 65535")
    result = assert_ok(text)
    assert result.cluster.hosts[0].ports == (1, 65535)


# --- ports used twice ---------------------------------------------------------

@pytest.mark.parametrize("value", ["[11211, 11212, 11211]", "[11211, { port = 11211, memlimit = 64 }]"])
def test_duplicate_memcached_port_on_a_host(value):
    text = THREE_MEMBERS.replace('address = "10.0.0.2"\nzookeeper = true\nmemcached = [11211, 11212]',
                                 f'address = "10.0.0.2"\nzookeeper = true\nmemcached = {value}  # <-')
    assert_error(text, "11211", "'b'")
    # one duplicate, one message
    assert len([p for p in check(text).errors if "11211" in p.message]) == 1


def test_same_port_on_different_hosts_is_fine():
    assert_ok(THREE_MEMBERS)


@pytest.mark.parametrize("port, what", [(2181, "client"), (2888, "quorum"), (3888, "election")])
def test_memcached_port_taken_by_zookeeper_on_the_same_host(port, what):
    text = THREE_MEMBERS.replace('address = "10.0.0.2"\nzookeeper = true\nmemcached = [11211, 11212]',
                                 f'address = "10.0.0.2"\nzookeeper = true\nmemcached = [11211, {port}]  # <-')
    problem = assert_error(text, f"10.0.0.2:{port}", "'b'")
    assert what in problem.message.lower()


def test_zookeeper_port_is_free_on_a_host_without_a_member():
    text = THREE_MEMBERS + '\n[[host]]\nname = "d"\naddress = "10.0.0.4"\nmemcached = [2181, 2888, 3888]\n'
    result = check(text)
    assert result.errors == [], describe(result)


def test_custom_zookeeper_client_port_collides_with_memcached():
    text = THREE_MEMBERS.replace("client_port = 2181", "client_port = 11212")
    text = text.replace('address = "10.0.0.1"\nzookeeper = true\nmemcached = [11211, 11212]',
                        'address = "10.0.0.1"\nzookeeper = true\nmemcached = [11211, 11212]  # <-')
    assert_error(text, "10.0.0.1:11212", "'a'")


def test_memcached_port_is_the_hosts_ssh_port():
    text = with_host_line(THREE_MEMBERS, "c", "ssh_port = 11212")
    text = text.replace('address = "10.0.0.3"\nzookeeper = true\nmemcached = [11211, 11212]',
                        'address = "10.0.0.3"\nzookeeper = true\nmemcached = [11211, 11212]  # <-')
    problem = assert_error(text, "10.0.0.3:11212", "'c'")
    assert "SSH" in problem.message


def test_memcached_port_is_the_cluster_ssh_port():
    text = THREE_MEMBERS.replace('service_code = "svc"', 'service_code = "svc"\nssh_port = 11211').replace(
        "memcached = [11211, 11212]", "memcached = [11211, 11212]  # <-")
    result = check(text)
    assert not result.ok
    # the collision is on each host, where the memcached port is written
    assert sorted(p.line for p in result.errors if "11211" in p.message) == marked_lines(text), describe(result)


def test_zookeeper_client_port_is_the_ssh_port():
    text = THREE_MEMBERS.replace("client_port = 2181", "client_port = 22  # <-")
    assert_error(text, ":22", "SSH")


def test_zookeeper_ports_must_differ_from_each_other():
    text = THREE_MEMBERS.replace("client_port = 2181", "client_port = 2181\nquorum_port = 2181  # <-")
    assert_error(text, "2181")


def test_memcached_node_on_an_external_zookeeper_server_address():
    text = """
        [cluster]
        service_code = "svc"
        [zookeeper]
        servers = ["10.0.0.9:2181", "10.0.0.1:2181", "10.0.0.11:2181"]
        [[host]]
        name = "mc"
        address = "10.0.0.1"
        memcached = [11211, 2181]  # <-
    """
    assert_error(text, "10.0.0.1:2181", "external")


def test_memcached_node_on_another_port_of_an_external_server_host_is_fine():
    text = """
        [cluster]
        service_code = "svc"
        [zookeeper]
        servers = ["10.0.0.9:2181", "10.0.0.1:2181", "10.0.0.11:2181"]
        [[host]]
        name = "mc"
        address = "10.0.0.1"
        memcached = [11211, 11212]
    """
    assert_ok(text)


def test_duplicate_external_server():
    text = """
        [cluster]
        service_code = "svc"
        [zookeeper]
        servers = ["10.0.0.9:2181", "10.0.0.10:2181", "10.0.0.9:2181"]  # <-
        [[host]]
        name = "mc"
        address = "10.0.0.1"
        memcached = [11211]
    """
    assert_error(text, "10.0.0.9:2181", "twice")


def test_same_address_on_two_hosts():
    text = THREE_MEMBERS.replace('name = "c"\naddress = "10.0.0.3"', 'name = "c"\naddress = "10.0.0.2"  # <-')
    assert_error(text, "10.0.0.2", "'c'")


def test_same_host_name_twice():
    text = THREE_MEMBERS.replace('name = "c"', 'name = "a"  # <-')
    assert_error(text, "'a'", "twice")


# --- names --------------------------------------------------------------------

NOT_PLAIN = ["a b", "a/b", "a;b", "a'b", 'a"b', "a$b", "a`b", "a|b", "a&b", "a\\b", "-rf", "", "a\tb", "é"]


@pytest.mark.parametrize("name", NOT_PLAIN, ids=repr)
def test_service_code_must_be_a_plain_name(name):
    text = THREE_MEMBERS.replace('service_code = "svc"', f"service_code = {json.dumps(name)}  # <-")
    assert_error(text, "service_code")


@pytest.mark.parametrize("name", NOT_PLAIN, ids=repr)
def test_host_name_must_be_a_plain_name(name):
    text = THREE_MEMBERS.replace('name = "b"', f"name = {json.dumps(name)}  # <-")
    assert_error(text, "name")


@pytest.mark.parametrize("address", ["10.0.0.2; reboot", "10.0.0.2 ", "$(id)", "host name", "-oProxyCommand=x", ""],
                         ids=repr)
def test_address_must_be_an_ip_or_a_host_name(address):
    text = THREE_MEMBERS.replace('address = "10.0.0.2"', f"address = {json.dumps(address)}  # <-")
    assert_error(text, "address")


@pytest.mark.parametrize("name", ["test-cloud", "cache001.arcus", "svc_1", "A1", "200node"])
def test_plain_names_are_accepted(name):
    text = THREE_MEMBERS.replace('service_code = "svc"', f'service_code = "{name}"').replace(
        'name = "a"', f'name = "{name}"')
    assert_ok(text)


@pytest.mark.parametrize("address", ["10.0.0.7", "cache001.arcus", "localhost", "a-b.c1.example"])
def test_addresses_that_are_accepted(address):
    assert_ok(THREE_MEMBERS.replace('address = "10.0.0.2"', f'address = "{address}"'))


@pytest.mark.parametrize("address", ["::1", "fe80::1", "2001:db8::7"])
def test_ipv6_addresses_are_refused_by_name(address):
    # issue 8: refused until they work end to end (see tests/unit/test_hostile_values.py)
    text = THREE_MEMBERS.replace('address = "10.0.0.2"', f'address = "{address}"  # <-')
    assert_error(text, "IPv6 addresses are not supported yet", "use an IPv4 address or a host name")


@pytest.mark.parametrize("user", ["a b", "a;b", "$USER"])
def test_user_must_be_a_plain_name(user):
    text = THREE_MEMBERS.replace('service_code = "svc"', f'service_code = "svc"\nuser = {json.dumps(user)}  # <-')
    assert_error(text, "user")


@pytest.mark.parametrize("path", ["arcus", "./arcus", "", "~user/arcus", "/opt/ar\ncus"], ids=repr)
def test_install_dir_must_be_absolute_or_under_home(path):
    text = with_host_line(THREE_MEMBERS, "a", f"install_dir = {json.dumps(path)}  # <-")
    assert_error(text, "install_dir")


@pytest.mark.parametrize("path", ["~", "~/arcus", "/opt/arcus", "~/my arcus/$x"])
def test_install_dir_accepted(path):
    assert_ok(with_host_line(THREE_MEMBERS, "a", f"install_dir = {json.dumps(path)}"))


@pytest.mark.parametrize("key", ["threads", "memlimit", "connections"])
@pytest.mark.parametrize("bad", [0, -5])
def test_node_settings_must_be_positive(key, bad):
    text = THREE_MEMBERS.replace("threads = 6", f"threads = 6\n{key} = {bad}  # <-" if key != "threads"
                                 else f"threads = {bad}  # <-")
    assert_error(text, key)


# --- required things ----------------------------------------------------------

def test_missing_service_code():
    text = THREE_MEMBERS.replace('[cluster]\nservice_code = "svc"', '[cluster]  # <-\nuser = "arcus"')
    assert_error(text, "service_code")


def test_missing_cluster_section():
    text = THREE_MEMBERS.replace('[cluster]\nservice_code = "svc"\n', "")
    result = check(text)
    assert not result.ok
    assert any("service_code" in p.message for p in result.errors), describe(result)


def test_host_missing_name():
    text = THREE_MEMBERS.replace('[[host]]\nname = "b"\n', "[[host]]  # <-\n")
    assert_error(text, "'name'", "host #2")


def test_host_missing_address():
    text = THREE_MEMBERS.replace('[[host]]\nname = "b"\naddress = "10.0.0.2"\n', '[[host]]  # <-\nname = "b"\n')
    assert_error(text, "'address'", "'b'")


def test_no_hosts():
    text = '[cluster]  # <-\nservice_code = "svc"\n\n[zookeeper]\nservers = ["10.0.0.9:2181"]\n'
    assert_error(text, "no hosts")


def test_external_servers_with_zookeeper_true_hosts():
    text = THREE_MEMBERS.replace("client_port = 2181", 'servers = ["10.0.0.9:2181"]').replace(
        "zookeeper = true\n", "zookeeper = true  # <-\n")
    result = check(text)
    # one error per such host, each on its own `zookeeper = true` line, naming the host
    flagged = sorted(p.line for p in result.errors if "servers" in p.message and "zookeeper = true" in p.message)
    assert flagged == marked_lines(text), describe(result)
    for host, line in zip("abc", marked_lines(text)):
        assert_error(text, f"'{host}'", "servers", line=line)


def test_no_zookeeper_at_all():
    text = THREE_MEMBERS.replace("zookeeper = true\n", "")
    result = check(text)
    assert not result.ok
    assert any("no ZooKeeper" in p.message for p in result.errors), describe(result)


def test_empty_servers_list_is_no_zookeeper():
    text = THREE_MEMBERS.replace("zookeeper = true\n", "").replace("client_port = 2181", "servers = []")
    result = check(text)
    assert any("no ZooKeeper" in p.message for p in result.errors), describe(result)


# --- warnings: usable, exit 0 -------------------------------------------------

def _warnings(text):
    result = check(text)
    assert result.ok, describe(result)  # warnings never make a file unusable
    assert all(p.severity is Severity.WARNING for p in result.problems)
    return result.warnings


def test_even_ensemble_warns_at_the_member_that_makes_it_even():
    text = THREE_MEMBERS.replace('address = "10.0.0.3"\nzookeeper = true\n', 'address = "10.0.0.3"\n')
    text = text.replace('address = "10.0.0.2"\nzookeeper = true\n', 'address = "10.0.0.2"\nzookeeper = true  # <-\n')
    warnings = _warnings(text)
    assert len(warnings) == 1 and "2" in warnings[0].message
    assert warnings[0].line == marked_lines(text)[0]
    assert warnings[0].format("c.toml").startswith(f"c.toml:{warnings[0].line}: warning: ")


def test_four_members_warn():
    text = THREE_MEMBERS + '\n[[host]]\nname = "d"\naddress = "10.0.0.4"\nzookeeper = true\n'
    warnings = _warnings(text)
    assert len(warnings) == 1 and "4" in warnings[0].message


def test_single_member_warns_on_its_line():
    warnings = _warnings("""
        [cluster]
        service_code = "svc"
        [[host]]
        name = "solo"
        address = "10.0.0.1"
        zookeeper = true  # <-
        memcached = [11211]
    """)
    assert len(warnings) == 1
    assert warnings[0].line == 7
    assert "single" in warnings[0].message


@pytest.mark.parametrize("count, warns", [(1, True), (2, True), (3, False), (4, True), (5, False)])
def test_external_ensemble_size_warnings_point_at_servers(count, warns):
    servers = ", ".join(f'"10.0.0.{9 + i}:2181"' for i in range(count))
    text = f'[cluster]\nservice_code = "svc"\n[zookeeper]\nservers = [{servers}]\n' \
           '[[host]]\nname = "mc"\naddress = "10.0.0.1"\nmemcached = [11211]\n'
    warnings = _warnings(text)
    assert bool(warnings) is warns
    assert all(w.line == 4 for w in warnings)


def test_odd_ensembles_do_not_warn():
    assert _warnings(THREE_MEMBERS) == []


# --- TOML syntax --------------------------------------------------------------

@pytest.mark.parametrize("broken", [
    'name = "b"\naddress "10.0.0.2"  # <-',                    # missing =
    'name = "b"\naddress = "10.0.0.2  # <-',                  # unclosed string
    'name = "b"\nname = "b2"  # <-\naddress = "10.0.0.2"',   # the same key twice
    'name = "b"\naddress = 10.0.0.2  # <-',                   # a bare value
    'name = "b"\naddress = "10.0.0.2"\nzookeeper = yes  # <-',
])
def test_toml_syntax_errors_carry_their_line(broken):
    text = THREE_MEMBERS.replace('name = "b"\naddress = "10.0.0.2"', broken, 1)
    assert_error(text, "TOML")
    assert len(check(text).problems) == 1


def test_a_table_twice_is_a_syntax_error_on_the_second():
    text = THREE_MEMBERS + "\n[memcached]  # <-\nmemlimit = 5\n"
    assert_error(text, "TOML")


def test_an_array_left_open_points_at_the_end_of_the_file():
    text = THREE_MEMBERS.replace("memcached = [11211, 11212]\n\n[[host]]\nname = \"b\"", "memcached = [11211,\n", 1)
    text = text.split('memcached = [11211,\n')[0] + 'memcached = [11211,\n11212,\n'
    last = len(text.splitlines())
    assert_error(text, "TOML", line=last)


@pytest.mark.parametrize("text", [
    "x = " + "[" * 3000 + "]" * 3000,
    "[[cluster]]\nservice_code = 'svc'\n",
    "host = 5\n[cluster]\nservice_code = 'svc'\n",
    "[cluster]\nservice_code = 'svc'\n[[host]]\n",
    "[cluster]\nservice_code = 'svc'\n[[host]]\nname = 'a'\naddress = '10.0.0.1'\n[host.memcached]\nport = 1\n",
    "[cluster]\nservice_code = 'svc'\n[cluster.extra]\nx = 1\n",
    "\x00",
    "",
    "[cluster]\nservice_code = 'svc'\n[zookeeper]\nservers = [[1]]\n",
    "[cluster]\nservice_code = 'svc'\n[[host]]\nname = 'a'\naddress = '10.0.0.1'\nmemcached = [{}]\n",
    "[cluster]\nservice_code = 1979-05-27\n",
], ids=lambda t: repr(t[:40]))
def test_odd_documents_give_problems_not_exceptions(text):
    result = parse_cluster(text, "c.toml")
    assert not result.ok
    assert result.errors and all(p.line >= 1 for p in result.errors)


# --- files --------------------------------------------------------------------

def test_unreadable_file(tmp_path):
    missing = tmp_path / "nope.toml"
    result = check_cluster_file(missing)
    assert not result.ok
    assert [p.format(result.source) for p in result.errors][0].startswith(f"{missing}:1: ")
    assert "cannot read" in result.errors[0].message

    result = check_cluster_file(tmp_path)  # a directory
    assert not result.ok and "cannot read" in result.errors[0].message


def _check_as_nobody(path) -> str:
    """Root reads any file whatever its mode, so check it from a child that gave root up."""
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        try:
            os.setgid(65534)
            os.setuid(65534)
            result = check_cluster_file(path)
            os.write(write_end, (result.errors[0].message if not result.ok else "ok").encode())
        finally:
            os._exit(0)
    os.close(write_end)
    os.waitpid(child, 0)
    with os.fdopen(read_end) as reader:
        return reader.read()


def test_file_without_read_permission(tmp_path):
    path = tmp_path / "secret.toml"
    path.write_text(THREE_MEMBERS)
    path.chmod(0)
    if os.geteuid() == 0:
        tmp_path.chmod(0o755)
        message = _check_as_nobody(path)
    else:
        result = check_cluster_file(path)
        message = "ok" if result.ok else result.errors[0].message
    assert "cannot read" in message and "Permission denied" in message


def test_non_utf8_file_names_the_line_of_the_bad_byte(tmp_path):
    path = tmp_path / "latin1.toml"
    text = THREE_MEMBERS.replace('name = "b"', 'name = "b"\n# caf\xe9 on the gateway')
    path.write_bytes(text.encode("latin-1"))
    result = check_cluster_file(path)
    assert not result.ok
    assert result.errors[0].line == text.splitlines().index("# caf\xe9 on the gateway") + 1
    assert "UTF-8" in result.errors[0].message


# --- the samples --------------------------------------------------------------

@pytest.mark.parametrize("sample", sorted(SAMPLES.glob("*.toml")), ids=lambda p: p.name)
def test_every_sample_passes_check(sample):
    result = check_cluster_file(sample)
    assert result.ok, "\n".join(p.format(result.source) for p in result.problems)
    assert result.errors == []


def test_there_are_the_samples_the_issue_asks_for():
    names = {path.name for path in SAMPLES.glob("*.toml")}
    assert {"colocated.toml", "existing-zookeeper.toml", "single-host.toml"} <= names
    assert any(len(list(check_cluster_file(SAMPLES / n).cluster.nodes())) >= 100 for n in names)
