"""Fixed text lists are embedded once per model and then read back from the cache folder."""

from __future__ import annotations

import numpy as np

from indexer.encoders.text_cache import cached_text_vectors


class _Counting:
    def __init__(self, encoder):
        self._encoder, self.calls = encoder, 0
        self.model_id, self.dim = encoder.model_id, encoder.dim

    def encode_texts(self, texts):
        self.calls += 1
        return self._encoder.encode_texts(texts)


def test_second_process_reads_the_vectors_back(tmp_path, tiny_encoder):
    counting = _Counting(tiny_encoder)
    first = cached_text_vectors(counting, ["a cat", "a tram"], tmp_path)
    again = cached_text_vectors(_Counting(tiny_encoder), ["a cat", "a tram"], tmp_path)
    assert counting.calls == 1 and np.array_equal(first, again)
    other = _Counting(tiny_encoder)
    cached_text_vectors(other, ["a cat", "a bus"], tmp_path)  # another list: embedded anew
    assert other.calls == 1
    for damaged in (tmp_path / "texts").glob("*.npy"):
        damaged.write_bytes(b"not numpy")
    fresh = _Counting(tiny_encoder)
    assert np.array_equal(cached_text_vectors(fresh, ["a cat", "a tram"], tmp_path), first) and fresh.calls == 1
