"""What an API process keeps of what it has read, the most recently used first, up to a number.

An entry is keyed by everything it was made of, so an entry that could be stale is never asked for: a
story list row by the story's id and its score in the list (which every change to what the row shows
moves), a snippet by the canonical article's id, headline, revision and length. Nothing needs removing;
what is no longer asked for ages out.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class LruCache(Generic[V]):
    """Values by key, the `most` used last kept. The threads of a process share it."""

    def __init__(self, most: int) -> None:
        self.most = most
        self.kept: OrderedDict[Hashable, V] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        with self.lock:
            found = self.kept.get(key)
            if found is not None:
                self.kept.move_to_end(key)
            return found

    def put(self, key: Hashable, value: V) -> None:
        with self.lock:
            self.kept[key] = value
            self.kept.move_to_end(key)
            if len(self.kept) > self.most:
                self.kept.popitem(last=False)
