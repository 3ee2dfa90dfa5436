"""The image tower's precision: which one runs where, TF32 kept to the call, vectors stay faithful.

bf16 is exercised through CPU autocast (asked for explicitly), the same code path a CUDA run
takes; the ViT-B-32 fidelity on a GPU is benchmarks/device/run_all.sh's job.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from indexer.encoders import load_encoder
from indexer.encoders.precision import image_precision_context, resolve_image_precision, vector_fidelity
from indexer.errors import ConfigError
from indexer.settings import EncoderOptions
from tests.conftest import pattern_image


@pytest.fixture(scope="module")
def images():
    return [pattern_image(seed, (80 + seed % 5 * 16, 64)) for seed in range(24)]


@pytest.fixture(scope="module")
def bf16_encoder(tiny_clip_dir):
    return load_encoder(f"open_clip:local-dir:{tiny_clip_dir}", EncoderOptions(device="cpu", image_precision="bf16"))


def test_auto_is_fp32_on_a_cpu_and_an_unknown_precision_is_refused():
    assert resolve_image_precision("auto", "cpu") == "fp32"
    assert resolve_image_precision("fp32", "cpu") == "fp32"
    assert resolve_image_precision("bf16", "cpu") == "bf16"  # explicit: CPU autocast, for testing
    with pytest.raises(ConfigError, match="Unknown image precision 'fp16'"):
        EncoderOptions(image_precision="fp16")


def test_tf32_on_a_cpu_is_refused_with_a_hint(tiny_clip_dir):
    with pytest.raises(ConfigError, match="tf32 needs a CUDA GPU") as caught:
        load_encoder(f"open_clip:local-dir:{tiny_clip_dir}", EncoderOptions(device="cpu", image_precision="tf32"))
    assert "fp32" in caught.value.hint


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_auto_on_cuda_follows_the_devices_bf16_support():  # pragma: no cover - GPU machines
    expected = "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    assert resolve_image_precision("auto", "cuda") == expected


def test_tf32_is_switched_on_for_the_call_only_even_when_it_raises():
    matmul, conv = torch.backends.cuda.matmul, torch.backends.cudnn.conv
    before = (matmul.fp32_precision, conv.fp32_precision)
    context = image_precision_context("tf32", "cuda")
    with pytest.raises(RuntimeError, match="tower failed"):
        with context():
            assert matmul.fp32_precision == "tf32" and conv.fp32_precision == "tf32"
            raise RuntimeError("tower failed")
    assert (matmul.fp32_precision, conv.fp32_precision) == before


def test_bf16_vectors_are_float32_unit_length_and_faithful_to_fp32(tiny_encoder, bf16_encoder, images):
    batch = torch.stack([tiny_encoder.preprocess(i) for i in images])
    full, half = tiny_encoder.encode_images(batch), bf16_encoder.encode_images(batch)
    assert half.dtype == np.float32 and np.allclose(np.linalg.norm(half, axis=1), 1.0, atol=1e-5)
    assert not np.array_equal(full, half), "bf16 autocast did not run"
    low, mean = vector_fidelity(tiny_encoder, bf16_encoder, images)
    print(f"bf16 vs fp32, tiny open_clip (random weights), {len(images)} images: min {low:.5f}, mean {mean:.5f}")
    assert low >= 0.99
    assert low == pytest.approx(float(np.min(np.sum(full * half, axis=1))), abs=1e-6)


def test_an_encoder_is_perfectly_faithful_to_itself(tiny_encoder, images):
    low, mean = vector_fidelity(tiny_encoder, tiny_encoder, images[:5])
    assert low == pytest.approx(1.0, abs=1e-5) and mean == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(ConfigError, match="at least one image"):
        vector_fidelity(tiny_encoder, tiny_encoder, [])


def test_scout_index_refuses_a_precision_the_device_cannot_run(tmp_path, tiny_clip_dir):
    (tmp_path / "photos").mkdir()
    pattern_image(1).save(tmp_path / "photos" / "a.png")
    run = subprocess.run(
        [sys.executable, "-m", "api.cli", "index", tmp_path / "photos", "--library", tmp_path / "lib",
         "--model", f"open_clip:local-dir:{tiny_clip_dir}", "--device", "cpu", "--image-precision", "tf32"],
        capture_output=True, text=True, timeout=300)
    assert run.returncode == 2, run.stderr
    assert "tf32 needs a CUDA GPU" in run.stderr and "Traceback" not in run.stderr


def test_the_offline_model_runs_its_classifier_in_the_precision_asked_and_keeps_its_vectors(tmp_path):
    from indexer.decode import decode_image
    from indexer.encoders.offline import OfflineEncoder
    from tests.conftest import SAMPLE_PHOTOS

    names = ["tabby-cat-chelsea.png", "spacex-rocket-launch.jpg", "pink-flower-closeup.jpg"]
    images = [decode_image((SAMPLE_PHOTOS / n).read_bytes(), n, max_pixels=10**9).image for n in names]
    full = OfflineEncoder(EncoderOptions(device="cpu", cache_dir=tmp_path))
    half = OfflineEncoder(EncoderOptions(device="cpu", cache_dir=tmp_path, image_precision="bf16"))
    worst, mean = vector_fidelity(full, half, images)
    assert (full.image_precision, half.image_precision) == ("fp32", "bf16")
    assert worst >= 0.99, (worst, mean)
    assert worst < 1.0  # bf16 really ran: the vectors are close, not identical
