"""The index run's side of GPU decoding: routed JPEGs, a quarter batch at a time, to one thread
that decodes and preprocesses them on the model's device while the run goes on consuming.

Workers only read, hash and parse the header of a JPEG the device can decode
(:mod:`indexer.device_decode`) and hand it back undecoded; the run adds each such pending item
here as it arrives and asks for the batch's model inputs when it embeds. A JPEG the device
refuses takes the CPU path then; thumbnails come from the decoded pixels and are written by a
few threads while the model runs.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from indexer.device_decode import DeviceDecoder, DeviceImage, device_decoder_for_run
from indexer.errors import DecodeError
from indexer.prepare import LazyTransform, Prepared, Preparer, webp_bytes, write_thumbnail
from indexer.settings import IndexSettings


@dataclass
class DeviceInputs:
    """What one batch's device decoding gave: the items to embed, in order, with their model
    inputs; the failures of JPEGs neither the device nor the CPU path could decode (by content
    hash: copies of them pending as reuses must fail too); thumbnails still being written."""

    ready: list[Prepared] = field(default_factory=list)
    refused: dict[str, tuple[Prepared, DecodeError]] = field(default_factory=dict)
    decoded_on_device: int = 0
    _thumbnails: list[tuple[Prepared, Future[str | None]]] = field(default_factory=list)

    def finish_thumbnails(self) -> None:
        for item, written in self._thumbnails:
            item.thumbnail = written.result()


def _pixels_to_webp(pixels) -> bytes:
    return webp_bytes(Image.fromarray(pixels))


class DeviceBatches:
    def __init__(self, decoder: DeviceDecoder, library_dir: Path, workers: int):
        self.decoder = decoder
        self.library_dir = library_dir
        self._thumbnailers = ThreadPoolExecutor(min(4, workers), thread_name_prefix="thumbnail")
        self._device_thread = ThreadPoolExecutor(1, thread_name_prefix="device-decode")
        self._undecoded: list[Prepared] = []  # pending routed JPEGs not yet handed to the device thread
        self._decoding: list[tuple[list[Prepared], Future[list[DeviceImage | None]]]] = []

    @classmethod
    def for_run(cls, settings: IndexSettings, device: str, transform: LazyTransform, engine: str,
                library_dir: Path) -> DeviceBatches | None:
        """None unless ``--gpu-decode`` is on for this run (see ``device_decoder_for_run``); a CPU
        run with ``auto`` never resolves the transform (a run with nothing new loads no model)."""
        wanted = settings.gpu_decode == "on" or (settings.gpu_decode == "auto" and device.startswith("cuda"))
        decoder = device_decoder_for_run(settings.gpu_decode, device, transform.resolve() if wanted else transform,
                                         engine, settings.thumbnail_size, chunk=max(1, settings.batch_size // 4))
        return None if decoder is None else cls(decoder, library_dir, settings.decode_workers)

    @property
    def device(self) -> str:
        return self.decoder.device

    def add(self, item: Prepared) -> None:
        """A pending item that the worker left undecoded (``item.jpeg`` set)."""
        self._undecoded.append(item)
        if len(self._undecoded) >= self.decoder.chunk:
            self._start()

    def _start(self) -> None:
        if self._undecoded:
            chunk, self._undecoded = self._undecoded, []
            future = self._device_thread.submit(self.decoder.decode, [(p.jpeg, p.frame) for p in chunk])
            self._decoding.append((chunk, future))

    def inputs(self, pending: list[Prepared], preparer: Preparer) -> DeviceInputs:
        """Model inputs for the pending batch: routed JPEGs as the device thread decoded them, a
        JPEG it refused through the CPU path; one that fails there too goes to ``refused``."""
        self._start()
        results = {id(item): result for chunk, future in self._decoding
                   for item, result in zip(chunk, future.result())}
        self._decoding = []
        out = DeviceInputs()
        for item in pending:
            if item.jpeg is not None:
                result, data, item.jpeg = results[id(item)], item.jpeg, None
                if result is None:
                    fallback = preparer.decode_on_cpu(item.file, data, item.hash)
                    if fallback.kind == "failed":
                        out.refused[item.hash] = (item, fallback.error)
                        continue
                    item = fallback
                else:
                    item.tensor = result.tensor
                    out.decoded_on_device += 1
                    if result.thumbnail is not None:
                        out._thumbnails.append((item, self._thumbnailers.submit(
                            write_thumbnail, self.library_dir, item.hash, _pixels_to_webp, result.thumbnail)))
            out.ready.append(item)
        return out

    def close(self) -> None:
        for pool in (self._device_thread, self._thumbnailers):
            pool.shutdown(wait=True, cancel_futures=True)
