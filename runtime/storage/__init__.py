"""Durable Raft state: the Storage protocol, SQLite for nodes, a memory disk for the simulator."""

from runtime.storage.base import PersistedState, Storage
from runtime.storage.full import StorageFull
from runtime.storage.memory import MemoryDisk, MemoryStorage
from runtime.storage.sqlite import SqliteStorage

__all__ = [
    "MemoryDisk",
    "MemoryStorage",
    "PersistedState",
    "SqliteStorage",
    "Storage",
    "StorageFull",
]
