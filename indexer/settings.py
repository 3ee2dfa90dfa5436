"""Typed settings that flow into the indexer and the searcher.

The CLI and the HTTP app build these from flags and environment variables; nothing below them
reads the environment for behaviour, so tests can construct any configuration directly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from indexer.errors import ConfigError

LIBRARY_ENV = "SCOUT_LIBRARY"


def default_library_dir() -> Path:
    """``$SCOUT_LIBRARY``, else ``$XDG_DATA_HOME/scout/library`` (``~/.local/share/scout/library``)."""
    if os.environ.get(LIBRARY_ENV):
        return Path(os.environ[LIBRARY_ENV]).expanduser()
    data_home = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data_home) / "scout" / "library"


def default_cache_dir() -> Path:
    """Where Scout keeps derived, re-creatable files (class-name embeddings, model caches)."""
    cache_home = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache_home) / "scout"


@dataclass(frozen=True)
class EncoderOptions:
    """How to load a model: where it runs and where its weights may come from."""

    device: str = "auto"
    threads: int | None = None
    cache_dir: Path | None = None
    allow_download: bool = False
    text_precision: str = "fp32"  # fp32 | int8 (dynamic quantisation) | bf16 (autocast); CPU only
    image_precision: str = "auto"  # auto | fp32 | bf16 | tf32: the image tower (indexer.encoders.precision)

    def __post_init__(self) -> None:
        if self.text_precision not in ("fp32", "int8", "bf16"):
            raise ConfigError(f"Unknown text precision {self.text_precision!r}.", hint="Use fp32, int8 or bf16.")
        if self.image_precision not in ("auto", "fp32", "bf16", "tf32"):
            raise ConfigError(f"Unknown image precision {self.image_precision!r}.",
                              hint="Use auto (bf16 on a CUDA GPU that supports it, else fp32), fp32, bf16 or tf32.")
        if self.device not in ("auto", "cpu", "cuda") and not self.device.startswith("cuda:"):
            raise ConfigError(
                f"Unknown device {self.device!r}.", hint="Use one of: auto, cpu, cuda, cuda:N."
            )
        if self.threads is not None and self.threads < 1:
            raise ConfigError(f"--threads must be at least 1, got {self.threads}.")


MAX_WORKERS = 256  # decode threads or processes; far past any machine's cores, short of a fork bomb


def _check_workers(workers: int) -> None:
    """``--workers`` as both the local run and an engine take it."""
    if not 1 <= workers <= MAX_WORKERS:
        raise ConfigError(f"--workers must be between 1 and {MAX_WORKERS}, got {workers}.",
                          hint="One per CPU core is plenty; each worker keeps 4 files in flight.")


@dataclass(frozen=True)
class IndexSettings:
    """Knobs of an index run. Defaults suit a 2-core laptop; all are exposed on the CLI."""

    batch_size: int = 32
    decode_workers: int = 2
    max_megapixels: float = 120.0
    commit_every: int = 64
    decode_size: int = 512
    thumbnail_size: int = 320
    strict: bool = False
    gpu_decode: str = "auto"  # auto | on | off: baseline JPEGs decoded on the model's GPU (indexer.device_decode)

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ConfigError(f"--batch-size must be at least 1, got {self.batch_size}.")
        _check_workers(self.decode_workers)
        if self.commit_every < 1:
            raise ConfigError(f"--commit-every must be at least 1, got {self.commit_every}.")
        if self.max_megapixels <= 0:
            raise ConfigError(f"--max-megapixels must be positive, got {self.max_megapixels}.")
        if self.gpu_decode not in ("auto", "on", "off"):
            raise ConfigError(f"Unknown --gpu-decode {self.gpu_decode!r}.",
                              hint="Use auto (on when the model runs on a CUDA GPU that decodes JPEGs), on or off.")

    @property
    def max_pixels(self) -> int:
        return int(self.max_megapixels * 1_000_000)


@dataclass(frozen=True)
class EngineSettings:
    """Where an index run's per-file work runs (:mod:`indexer.engines`).

    ``workers`` is threads or processes for the local engines and CPUs for a local Ray cluster;
    ``address`` names an existing Ray cluster; ``encoder_options`` is how an engine that embeds
    on its workers loads the model there.
    """

    name: str = "threads"
    workers: int = 2
    address: str | None = None
    encoder_options: EncoderOptions = EncoderOptions()

    def __post_init__(self) -> None:
        _check_workers(self.workers)
        if self.address is not None and self.name in ("threads", "processes"):
            raise ConfigError(f"--address names a cluster; the {self.name} engine runs on this machine.",
                              hint="Use --engine ray --address ADDR, or drop --address.")
