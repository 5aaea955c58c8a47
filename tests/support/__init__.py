"""Shared test helpers: ports and waiting, a real ZooKeeper server, the leak checker."""
