"""Build the objects the commands need, in one place: library + encoder + notice."""

from __future__ import annotations

import sys
from pathlib import Path

from indexer.encoders import load_default_encoder, load_encoder
from indexer.encoders.base import Encoder
from indexer.encoders.deferred import DeferredEncoder
from indexer.errors import LibraryNotFound
from indexer.library import Library
from indexer.settings import EncoderOptions


def quiet_model_libraries(*, only_if_imported: bool = False) -> None:
    """Model-loading progress bars and warnings would scribble over Scout's own progress bar.

    Logging settings are process-wide, so only the command-line edge makes this choice, never
    the library code a notebook or another program imports. ``only_if_imported`` skips a
    transformers not yet imported: importing it just to quiet it costs seconds of every
    ``scout search`` start-up, and the offline model never imports it.
    """
    if only_if_imported and "transformers" not in sys.modules:
        return
    try:
        import transformers

        transformers.utils.logging.set_verbosity_error()
        transformers.utils.logging.disable_progress_bar()
    except (ImportError, AttributeError):
        pass


def encoder_for_index(library: Library, model: str | None, options: EncoderOptions) -> tuple[Encoder, str | None]:
    """The model an index run uses: the one asked for, else the library's, else the default.

    Quietened after loading, before the run's progress bar starts: a model that uses
    transformers has imported it by then, and one that does not never pays for importing it.
    """
    encoder, notice = _index_encoder(library, model, options)
    quiet_model_libraries(only_if_imported=True)
    return encoder, notice


def _index_encoder(library: Library, model: str | None, options: EncoderOptions) -> tuple[Encoder, str | None]:
    if model:
        encoder = load_encoder(model, options)
        library.check_model(encoder.model_id)
        return encoder, None
    if library.model_id:
        dim = library.catalog.get_meta("dim") or ""
        # A run with nothing new then never loads the model (indexer/encoders/deferred.py); a
        # dimension that is not a positive number is not trusted: the loaded model says it.
        if dim.isdecimal() and int(dim) > 0:
            return DeferredEncoder(library.model_id, int(dim), options,
                                   lambda: _quietened(load_encoder(library.model_id, options))), None
        return load_encoder(library.model_id, options), None
    return load_default_encoder(options)


def quiet_ray_data() -> None:
    """Ray Data logs each dataset's start and end and a progress-bar notice to the terminal, over
    Scout's own progress bar; only its errors are worth showing there. Logging is process-wide,
    so the command line decides this (for ``--engine ray``), never the engine itself."""
    import logging

    import ray.data  # noqa: F401  (configures its loggers on import; set the level after that)

    logging.getLogger("ray.data").setLevel(logging.ERROR)


def _quietened(encoder: Encoder) -> Encoder:
    quiet_model_libraries(only_if_imported=True)
    return encoder


def encoder_for_search(library: Library, options: EncoderOptions) -> Encoder:
    quiet_model_libraries(only_if_imported=True)
    if not library.model_id:
        raise LibraryNotFound(
            f"The library at {library.path} has nothing indexed yet.",
            hint="Run `scout index FOLDER` first.",
        )
    return load_encoder(library.model_id, options)


def open_for_search(path: Path) -> Library:
    return Library.open(path, readonly=True)
