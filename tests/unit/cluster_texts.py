"""Cluster files the UI and registry unit tests share: the guide's three co-located hosts on
127.0.0.1-3, one memcached node each (test-cloud)."""

THREE_HOSTS = """\
[cluster]
service_code = "test-cloud"
user = "arcus"

[[host]]
name = "cache001"
address = "127.0.0.1"
zookeeper = true
memcached = [11211]

[[host]]
name = "cache002"
address = "127.0.0.2"
zookeeper = true
memcached = [11211]

[[host]]
name = "cache003"
address = "127.0.0.3"
zookeeper = true
memcached = [11211]
"""


def fleet(hosts: int, ensemble: int = 3, ports: tuple[int, ...] = (11211, 11212)) -> str:
    """A cluster file of `hosts` hosts on 127.0.<n>.<m> (never contacted by unit tests), the first
    `ensemble` of them ZooKeeper members, each with memcached on `ports`."""
    lines = ['[cluster]', 'service_code = "fleet"', 'user = "arcus"', ""]
    for number in range(1, hosts + 1):
        lines += ["[[host]]", f'name = "cache{number:03d}"', f'address = "127.0.{number // 250 + 10}.{number % 250 + 1}"']
        if number <= ensemble:
            lines.append("zookeeper = true")
        lines += [f"memcached = [{', '.join(str(port) for port in ports)}]", ""]
    return "\n".join(lines)
