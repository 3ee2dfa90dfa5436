"""Property-based fuzzing of the decoder with mutated real files.

Every file a user's disk can hold ends as pixels or as a ``DecodeError`` with a reason: nothing
else escapes, no decode runs past a bound, and memory does not creep up across hundreds of broken
files. Decoding runs in a worker process so that a hang or a crash is seen as one, not as a stuck
test run.
"""

from __future__ import annotations

import io
import struct
import multiprocessing
import os
import tempfile
import traceback
from concurrent.futures import ProcessPoolExecutor, TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings, strategies as st
from PIL import Image

from indexer.decode import decode_image
from indexer.errors import DecodeError
from tests.conftest import pattern_image

MAX_PIXELS = 50_000_000  # the configured limit the decoder must respect
DECODE_TIMEOUT_S = 30  # per file; generous for two busy cores, far below "hung"
RSS_GROWTH_LIMIT = 400 * 2**20  # resident memory after a decode, over the worker's warmed-up baseline
PEAK_RSS_LIMIT = 3 * 2**30  # the worst single decode, at a pixel limit of 50 MP


def _sixteen_bit_png() -> bytes:
    y, x = np.mgrid[0:48, 0:64]
    array = ((x * 1000 + y * 300) % 65536).astype(np.uint16)
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG")
    return buffer.getvalue()


def _encoded(fmt: str, **kw) -> bytes:
    buffer = io.BytesIO()
    image = pattern_image(7, (64, 48))
    if fmt == "GIF":
        image = image.convert("P")
    image.save(buffer, fmt, **kw)
    return buffer.getvalue()


SEEDS = {
    "jpeg": lambda: _encoded("JPEG", quality=90, exif=_orientation_exif(6)),
    "png": lambda: _encoded("PNG"),
    "png16": _sixteen_bit_png,
    "gif": lambda: _encoded("GIF"),
    "tiff": lambda: _encoded("TIFF", compression="tiff_deflate"),
    "webp": lambda: _encoded("WEBP", quality=80),
    "bmp": lambda: _encoded("BMP"),
}


def _orientation_exif(value: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = value
    return exif.tobytes()


def _worker_rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _reset_peak_rss() -> None:
    """Start this decode's peak from now: a spawned worker otherwise inherits the peak RSS of the
    test process that forked it (getrusage's ru_maxrss survives execve), a figure about earlier
    tests, not about decoding."""
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")


def _peak_rss() -> int:
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024


def _decode_in_worker(data: bytes, name: str, from_disk: bool) -> tuple[str, str, int, int]:
    """Runs in the worker: ('ok' | 'scout' | 'other', detail, current RSS, peak RSS of this decode)."""
    from indexer.decode import decode_image
    from indexer.errors import DecodeError

    _reset_peak_rss()
    try:
        if from_disk:
            with tempfile.TemporaryDirectory() as folder:
                path = os.path.join(folder, name)
                with open(path, "wb") as out:
                    out.write(data)
                decoded = decode_image(None, path, max_pixels=MAX_PIXELS)
        else:
            decoded = decode_image(data, name, max_pixels=MAX_PIXELS)
        assert decoded.image.mode == "RGB" and max(decoded.image.size) <= 512
        outcome = ("ok", f"{decoded.format} {decoded.width}x{decoded.height}")
    except DecodeError as error:
        outcome = ("scout", error.reason if error.message.strip() else "DecodeError without a message")
    except BaseException:  # the property under test: anything else is a finding
        outcome = ("other", traceback.format_exc())
    return (*outcome, _worker_rss(), _peak_rss())


class _DecodeWorker:
    """One spawned process that decodes; a crash (a signal in native decoder code) or a hang is
    reported as such and the process replaced, so one bad file cannot hide the next."""

    def __init__(self):
        self._start()

    def _start(self) -> None:
        self._executor = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        for data in (seed() for seed in SEEDS.values()):  # imports and first-use costs, once
            self._executor.submit(_decode_in_worker, data, "warm.bin", False).result(120)
        self.baseline = self._executor.submit(_decode_in_worker, SEEDS["png"](), "warm.png", False).result(120)[2]

    def _replace(self) -> None:
        for process in list(getattr(self._executor, "_processes", {}).values()):
            process.kill()
        self._executor.shutdown(wait=True, cancel_futures=True)
        self._start()

    def decode(self, data: bytes, name: str, from_disk: bool) -> tuple[str, str, int, int]:
        future = self._executor.submit(_decode_in_worker, data, name, from_disk)
        try:
            return future.result(DECODE_TIMEOUT_S)
        except BrokenProcessPool:
            self._replace()
            return ("crash", "the decoding process died (a crash in native decoder code)", 0, 0)
        except FutureTimeout:
            self._replace()
            return ("hang", f"still decoding after {DECODE_TIMEOUT_S} s", 0, 0)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


@pytest.fixture(scope="module")
def decoder():
    worker = _DecodeWorker()
    try:
        yield worker
    finally:
        worker.close()


@st.composite
def mutated(draw, original: bytes) -> bytes:
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["flip", "set", "truncate", "insert", "delete", "duplicate"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set" and data:  # header fields: 0x00 / 0xff / a large length byte
            data[at] = draw(st.sampled_from([0x00, 0xFF, 0x7F, 0x80, draw(st.integers(0, 255))]))
        elif kind == "truncate":
            del data[at:]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
        elif kind == "delete":
            del data[at:at + draw(st.integers(1, 64))]
        elif kind == "duplicate":
            data[at:at] = data[at:at + draw(st.integers(1, 256))]
    return bytes(data)


@pytest.mark.parametrize("fmt", sorted(SEEDS))
def test_mutated_files_decode_or_fail_with_a_decode_error(fmt, decoder):
    original = SEEDS[fmt]()
    seen: dict[str, int] = {}

    # No shrinking: a hang would be re-run at full timeout for every shrink step.
    @settings(max_examples=60, deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate],
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(data=mutated(original), name=st.sampled_from([f"x.{fmt}", "x.bin", "x.dng"]), from_disk=st.booleans())
    def decode_one(data, name, from_disk):
        kind, detail, rss, peak = decoder.decode(data, name, from_disk)
        where = (f"{len(data)} mutated {fmt} bytes as {name} (from {'disk' if from_disk else 'memory'}"
                 + (f", hex {data.hex()})" if len(data) <= 256 else ")"))
        assert kind not in ("crash", "hang"), f"{where}: {detail}"
        assert kind != "other", f"{where} raised something other than DecodeError:\n{detail}"
        assert rss - decoder.baseline < RSS_GROWTH_LIMIT, f"worker RSS grew by {(rss - decoder.baseline) >> 20} MB"
        assert peak < PEAK_RSS_LIMIT, f"one decode peaked at {peak >> 20} MB"
        seen[kind] = seen.get(kind, 0) + 1

    decode_one()
    assert seen.get("scout"), "the mutations never broke a file: the fuzzing is not reaching the decoder"


def test_a_gif_frame_placed_far_outside_its_canvas_is_refused_as_too_large():
    """Found by the fuzzer: a frame offset of (60000, 60000) makes Pillow see a 3.6 GP image while
    *opening* the file, before Scout's own pixel check runs."""
    data = bytearray(SEEDS["gif"]())
    at = 13 + 3 * 2 ** ((data[10] & 7) + 1)  # past the header and the global palette
    while data[at] == 0x21:  # extension blocks
        at += 2
        while data[at]:
            at += data[at] + 1
        at += 1
    assert data[at] == 0x2C, "image descriptor"
    data[at + 1:at + 5] = struct.pack("<HH", 60000, 60000)
    with pytest.raises(DecodeError) as error:
        decode_image(bytes(data), "x.gif", max_pixels=MAX_PIXELS)
    assert error.value.reason == "too_large"
