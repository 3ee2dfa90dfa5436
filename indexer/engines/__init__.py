"""Index engines: where an index run's per-file work (and optionally its embedding) runs.

Built-ins: ``threads`` (default), ``processes`` (forked workers, for many cores), ``ray`` (a Ray
cluster, for many machines). Third-party engines register under the ``scout.engines`` entry-point
group with a loader ``load(settings: EngineSettings) -> Engine`` (see :mod:`indexer.engines.base`).
"""

from __future__ import annotations

from typing import Callable

from indexer.engines.base import Engine
from indexer.registry import Registry
from indexer.settings import EngineSettings

Loader = Callable[[EngineSettings], Engine]

ENGINES: Registry[Loader] = Registry(
    "index engine", "scout.engines",
    {"threads": "indexer.engines.threads:load", "processes": "indexer.engines.processes:load",
     "ray": "indexer.engines.ray_engine:load"},
    example="--engine threads",
)


def load_engine(settings: EngineSettings | None = None) -> Engine:
    settings = settings or EngineSettings()
    return ENGINES.loader(settings.name)(settings)
