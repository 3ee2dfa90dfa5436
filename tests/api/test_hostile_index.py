"""``scout index``'s new options and the deferred model load, used wrongly and unluckily, as a
user runs them: real ``scout`` processes on small folders, real libraries, exit codes."""

from __future__ import annotations

import json

import pytest

from indexer.library import Library
from tests.api.test_cli import scout
from tests.conftest import save_tiny_clip, write_images
from tests.indexer.test_decode import _png_header_claiming


def _failures(library) -> list:
    return json.loads(scout("errors", "--library", library, "--json", check=0).stdout)


@pytest.fixture
def clip_library(tmp_path):
    """A library indexed with a tiny CLIP in a folder of its own (the tests take it away)."""
    model = save_tiny_clip(tmp_path / "clip")
    root, library = tmp_path / "assets", tmp_path / "lib"
    write_images(root, 3)
    scout("index", root, "--library", library, "--model", f"open_clip:local-dir:{model}", check=0)
    return library, root, model


@pytest.mark.parametrize("engine", ["threads", "processes"])
def test_a_model_that_went_away_stops_the_run_instead_of_failing_every_new_file(clip_library, engine):
    library, root, model = clip_library
    hidden = model.with_name("clip-moved")
    model.rename(hidden)
    write_images(root, 2, start=10)

    run = scout("index", root, "--library", library, "--engine", engine)
    assert run.returncode == 5, run.stderr  # the weights are missing: a model problem, not the files'
    assert "open_clip_config.json" in run.stderr and "Traceback" not in run.stderr
    assert _failures(library) == []  # before the fix: both new files recorded as "Decoder crashed"

    hidden.rename(model)  # the model is back: the same command picks the new files up
    again = scout("index", root, "--library", library, "--engine", engine, check=0)
    assert "2 embedded" in again.stderr and "3 unchanged" in again.stderr


@pytest.mark.parametrize("dim", ["abc", "-5", "", "4096"])
def test_a_garbage_dim_in_the_catalog_does_not_stop_an_index_run(clip_library, dim):
    library, root, _ = clip_library
    Library.open(library).catalog.set_meta(dim=dim)
    write_images(root, 1, start=20)
    run = scout("index", root, "--library", library, check=0)
    assert "1 embedded" in run.stderr and "Traceback" not in run.stderr
    hits = json.loads(scout("search", "a pattern", "--library", library, "--all", "--json", check=0).stdout)
    assert len(hits) == 4


@pytest.mark.parametrize("dim", ["4096", "16"])
def test_a_wrong_dim_in_the_catalog_does_not_stop_a_run_that_only_removes_files(clip_library, dim):
    library, root, _ = clip_library
    Library.open(library).catalog.set_meta(dim=dim)
    sorted(root.iterdir())[0].unlink()
    run = scout("index", root, "--library", library)
    assert run.returncode == 0 and "1 removed" in run.stderr, run.stderr  # before the fix: a FAISS assert
    hits = json.loads(scout("search", "a pattern", "--library", library, "--all", "--json", check=0).stdout)
    assert len(hits) == 2


def test_tf32_on_a_cpu_is_refused_before_any_file_is_marked_failed(tmp_path):
    pytest.importorskip("torch")
    import torch

    if torch.cuda.is_available():
        pytest.skip("tf32 is valid on this machine's GPU")
    root, library = tmp_path / "assets", tmp_path / "lib"
    write_images(root, 2)
    run = scout("index", root, "--library", library, "--model", "offline", "--image-precision", "tf32")
    assert run.returncode == 2, run.stderr
    assert "tf32 needs a CUDA GPU" in run.stderr and "Traceback" not in run.stderr
    assert _failures(library) == []  # before the fix: every file "failed", exit 0
    scout("index", root, "--library", library, "--model", "offline", check=0)
    assert _failures(library) == []


@pytest.mark.parametrize("address", ["127.0.0.1:\u00b2", "127.0.0.1:99999", "10.0.0.5:0", "http://x", ":::"])
def test_a_ray_address_that_is_not_host_port_is_a_clear_error(tmp_path, address):
    pytest.importorskip("ray")
    root = tmp_path / "assets"
    write_images(root, 1)
    run = scout("index", root, "--library", tmp_path / "lib", "--engine", "ray", "--address", address)
    assert run.returncode == 2, run.stderr
    assert "is not host:port" in run.stderr and "Traceback" not in run.stderr
    assert not (tmp_path / "lib").exists()


@pytest.mark.parametrize(("args", "words"), [
    (["--workers", "0"], "--workers must be between 1 and 256"),
    (["--workers", "-3"], "--workers must be between 1 and 256"),
    (["--workers", "1000", "--engine", "processes"], "--workers must be between 1 and 256"),
    (["--address", "10.0.0.5:6379"], "--address names a cluster"),
    (["--engine", "processes", "--address", "auto"], "--address names a cluster"),
    (["--image-precision", "TF32"], "Unknown image precision"),
    (["--gpu-decode", "yes"], "Unknown --gpu-decode"),
])
def test_bad_index_options_are_refused_before_the_library_is_touched(tmp_path, args, words):
    root = tmp_path / "assets"
    write_images(root, 1)
    run = scout("index", root, "--library", tmp_path / "lib", *args)
    assert run.returncode == 2, run.stderr
    assert words in run.stderr and "Traceback" not in run.stderr
    assert not (tmp_path / "lib").exists()


def test_unknown_engines_name_the_known_ones(tmp_path):
    root = tmp_path / "assets"
    write_images(root, 1)
    for engine in ("", "RAY"):
        run = scout("index", root, "--library", tmp_path / "lib", "--engine", engine)
        assert run.returncode == 5, run.stderr
        assert "processes, ray, threads" in run.stderr and "Traceback" not in run.stderr


def test_hostile_files_under_the_processes_engine_are_recorded_not_fatal(tmp_path):
    root, library = tmp_path / "assets", tmp_path / "lib"
    write_images(root, 2, fmt="JPEG")
    (root / "empty.jpg").write_bytes(b"")
    good = (root / "img-0000.jpeg").read_bytes()
    (root / "cut.jpg").write_bytes(good[: len(good) // 2])
    (root / "garbage.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 64)
    # A PNG header that claims 100 000 x 100 000 pixels: refused from the header.
    (root / "bomb.png").write_bytes(_png_header_claiming(100_000, 100_000))

    run = scout("index", root, "--library", library, "--model", "offline", "--engine", "processes", check=0)
    assert "2 embedded" in run.stderr and "Traceback" not in run.stderr
    reasons = {_name(f): f["reason"] for f in _failures(library)}
    assert reasons["empty.jpg"] == "empty" and reasons["bomb.png"] == "too_large"
    assert set(reasons) == {"empty.jpg", "cut.jpg", "garbage.jpg", "bomb.png"}


def _name(failure: dict) -> str:
    return failure["path"].rsplit("/", 1)[-1]
