"""Uploaded example images, embedded once and kept by id so paging does not re-upload them."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

import numpy as np

from indexer.errors import QueryError


class ExampleStore:
    def __init__(self, capacity: int = 256):
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    @staticmethod
    def key_for(data: bytes) -> str:
        return "ex-" + hashlib.blake2b(data, digest_size=12).hexdigest()

    def put(self, key: str, vector: np.ndarray) -> None:
        with self._lock:
            self._vectors[key] = vector
            self._vectors.move_to_end(key)
            while len(self._vectors) > self._capacity:
                self._vectors.popitem(last=False)

    def get(self, key: str) -> np.ndarray:
        with self._lock:
            vector = self._vectors.get(key)
            if vector is None:
                raise QueryError(f"Unknown or expired example {key!r}.",
                                 hint="Upload the image again (POST /api/examples).")
            self._vectors.move_to_end(key)
            return vector
