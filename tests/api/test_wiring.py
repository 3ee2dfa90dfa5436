"""An index run over a library that already knows its model loads that model only when a file
needs embedding: an unchanged re-run of a CLIP library imports neither open_clip nor torch."""

from __future__ import annotations

import subprocess
import sys

from api.wiring import encoder_for_index
from indexer.encoders.deferred import DeferredEncoder
from indexer.library import Library
from indexer.settings import EncoderOptions
from tests.conftest import write_images


def _scout_index(folder, library, *extra) -> tuple[str, set[str]]:
    run = subprocess.run([sys.executable, "-X", "importtime", "-m", "api.cli", "index", str(folder),
                          "--library", str(library), "--device", "cpu", *extra],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    imported = {line.split("|")[-1].strip() for line in run.stderr.splitlines() if line.startswith("import time:")}
    summary = next(line for line in run.stderr.splitlines() if line.startswith("Indexed "))
    return summary, imported


def test_an_unchanged_rerun_never_loads_the_model_and_a_new_file_still_gets_embedded(tmp_path, tiny_clip_dir):
    folder = tmp_path / "photos"
    write_images(folder, 3)
    library = tmp_path / "lib"
    first, imported = _scout_index(folder, library, "--model", f"open_clip:local-dir:{tiny_clip_dir}")
    assert "3 embedded" in first and "open_clip" in imported

    again, imported = _scout_index(folder, library)
    assert "0 embedded" in again and "3 unchanged" in again
    assert not imported & {"open_clip", "torch"}  # neither the model's code, its weights nor torch

    write_images(folder, 1, start=3)
    more, imported = _scout_index(folder, library)
    assert "1 embedded" in more and "3 unchanged" in more and "open_clip" in imported
    reopened = Library.open(library)
    assert reopened.catalog.asset_count() == 4


def test_the_deferred_encoder_answers_like_the_model_once_asked(tmp_path, tiny_clip_dir, tiny_encoder):
    folder = tmp_path / "photos"
    write_images(folder, 1)
    from tests.conftest import index_folder

    library, _ = index_folder(tmp_path / "lib", [folder], tiny_encoder)
    encoder, notice = encoder_for_index(library, None, EncoderOptions(device="cpu"))
    assert isinstance(encoder, DeferredEncoder) and notice is None
    assert (encoder.model_id, encoder.dim, encoder.device) == (tiny_encoder.model_id, tiny_encoder.dim, "cpu")
    assert not encoder.loaded
    got = encoder.encode_texts(["a red square"])
    assert encoder.loaded
    assert abs(float(got[0] @ tiny_encoder.encode_texts(["a red square"])[0]) - 1.0) < 1e-5
