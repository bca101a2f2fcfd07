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
