"""A fleet-sized cluster file for the UI scale tests and bench/grid.py: `hosts` servers on
10.0.x.y (never contacted: the tests set ARCUS_TUI_LOOPBACK_ONLY), two memcached nodes each,
a five-member ensemble on the first five hosts."""

ENSEMBLE = 5


def fleet_text(hosts: int = 200, service_code: str = "fleet-cloud") -> str:
    lines = [
        "[cluster]",
        f'service_code = "{service_code}"',
        'user = "arcus"',
        "",
        "[memcached]",
        "threads = 6",
        "memlimit = 1024",
    ]
    for index in range(hosts):
        lines += [
            "",
            "[[host]]",
            f'name = "cache{index + 1:03d}.arcus"',
            f'address = "10.0.{index // 250}.{index % 250 + 1}"',
        ]
        if index < ENSEMBLE:
            lines.append("zookeeper = true")
        lines.append("memcached = [11211, 11212]")
    return "\n".join(lines) + "\n"
