"""The encoder registry and the open_clip backend's weight resolution, with a self-made model."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from indexer.encoders import ENCODERS, DEFAULT_CLIP_SPEC, load_default_encoder, load_encoder, register_backend
from indexer.errors import ConfigError, EncoderUnavailable, WeightsUnavailable
from indexer.settings import EncoderOptions
from tests.conftest import pattern_image


def test_tiny_open_clip_from_local_dir_embeds_images_and_texts(tiny_encoder, tiny_clip_dir):
    assert tiny_encoder.model_id == f"open_clip:local-dir:{tiny_clip_dir}"
    assert tiny_encoder.dim == 32
    images = tiny_encoder.encode_images(
        torch.stack([tiny_encoder.preprocess(pattern_image(i)) for i in range(3)])
    )
    texts = tiny_encoder.encode_texts(["a cat", "a dog"])
    assert images.shape == (3, 32) and texts.shape == (2, 32)
    assert np.allclose(np.linalg.norm(images, axis=1), 1, atol=1e-5)
    assert not np.allclose(images[0], images[1])


def test_same_checkpoint_loads_to_the_same_space(tiny_encoder, tiny_clip_dir):
    again = load_encoder(f"open_clip:local-dir:{tiny_clip_dir}", EncoderOptions(device="cpu"))
    assert np.allclose(again.encode_texts(["beach"]), tiny_encoder.encode_texts(["beach"]), atol=1e-6)


def _fake_hf_cache(cache, repo: str, source_dir) -> None:
    """Lay files out exactly as huggingface_hub's cache does (refs/main -> snapshots/<rev>)."""
    folder = cache / f"models--{repo.replace('/', '--')}"
    revision = "0" * 40
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text(revision)
    snapshot = folder / "snapshots" / revision
    snapshot.mkdir(parents=True)
    for name in ("open_clip_config.json", "open_clip_pytorch_model.bin"):
        shutil.copy(source_dir / name, snapshot / name)


def test_hf_hub_name_resolves_from_the_local_cache_offline(tmp_path, tiny_clip_dir, tiny_encoder):
    _fake_hf_cache(tmp_path / "hub", "scout-test/tiny-clip", tiny_clip_dir)
    encoder = load_encoder(
        "open_clip:hf-hub:scout-test/tiny-clip", EncoderOptions(device="cpu", cache_dir=tmp_path / "hub")
    )
    assert encoder.model_id == "open_clip:hf-hub:scout-test/tiny-clip"
    assert np.allclose(encoder.encode_texts(["x"]), tiny_encoder.encode_texts(["x"]), atol=1e-6)


def test_checkpoint_file_path_spec(tmp_path, tiny_clip_dir):
    import open_clip

    config = tmp_path / "scout-tiny.json"  # open_clip names a model config after its file
    config.write_text(json.dumps(json.loads((tiny_clip_dir / "open_clip_config.json").read_text())["model_cfg"]))
    open_clip.add_model_config(config)
    encoder = load_encoder(f"open_clip:scout-tiny@{tiny_clip_dir / 'open_clip_pytorch_model.bin'}")
    assert encoder.dim == 32
    assert encoder.model_id.endswith("open_clip_pytorch_model.bin")


def test_missing_default_weights_fail_fast_with_instructions(tmp_path, monkeypatch):
    import huggingface_hub

    def no_network(*args, **kwargs):
        raise AssertionError("Scout must not try the hub when downloads are off")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", no_network)
    monkeypatch.setattr("open_clip.pretrained.hf_hub_download", no_network, raising=False)
    with pytest.raises(WeightsUnavailable) as info:
        load_encoder(DEFAULT_CLIP_SPEC, EncoderOptions(cache_dir=tmp_path / "empty"))
    text = str(info.value)
    assert "laion/CLIP-ViT-B-32-laion2B-s34B-b79K" in text
    for way in ("HF_HUB_OFFLINE", "local-dir:", "--allow-download", ".bin"):
        assert way in text


@pytest.mark.parametrize(
    "spec, error, words",
    [
        ("open_clip:hf-hub:nobody/nothing", WeightsUnavailable, "hf-hub:nobody/nothing"),
        ("open_clip:ViT-B-32@/no/such/file.pt", WeightsUnavailable, "/no/such/file.pt"),
        ("open_clip:ViT-B-32@no_such_tag", ConfigError, "laion2b_s34b_b79k"),
        ("open_clip:ViT-B-32", ConfigError, "Known tags"),
        ("open_clip:Not-A-Model@x", ConfigError, "no model named"),
        ("martian:x", EncoderUnavailable, "offline, open_clip"),
    ],
)
def test_bad_specs_say_what_is_wrong(tmp_path, spec, error, words):
    with pytest.raises(error) as info:
        load_encoder(spec, EncoderOptions(cache_dir=tmp_path))
    assert words in str(info.value)


def test_local_dir_without_weights_is_refused(tmp_path, tiny_clip_dir):
    shutil.copy(tiny_clip_dir / "open_clip_config.json", tmp_path / "open_clip_config.json")
    with pytest.raises(WeightsUnavailable):
        load_encoder(f"open_clip:local-dir:{tmp_path}")


def test_default_falls_back_to_offline_with_a_notice(tmp_path, offline_encoder):
    with ENCODERS.registered("offline", lambda args, options: offline_encoder):
        encoder, notice = load_default_encoder(EncoderOptions(cache_dir=tmp_path))
    assert encoder is offline_encoder
    assert DEFAULT_CLIP_SPEC in notice and "README" in notice


def test_registered_backends_are_used(tiny_encoder):
    register_backend("mine", lambda args, options: tiny_encoder)
    try:
        assert load_encoder("mine:anything") is tiny_encoder
        assert "mine" in ENCODERS.names()
    finally:
        ENCODERS.unregister("mine")
    with pytest.raises(EncoderUnavailable, match="Unknown encoder backend 'mine'"):
        load_encoder("mine:anything")


def test_unknown_device_is_a_config_error():
    with pytest.raises(ConfigError):
        EncoderOptions(device="tpu")


@pytest.mark.parametrize("precision", ["int8", "bf16"])
def test_faster_text_precisions_stay_close_to_fp32(tiny_clip_dir, tiny_encoder, precision):
    fast = load_encoder(f"open_clip:local-dir:{tiny_clip_dir}",
                        EncoderOptions(device="cpu", text_precision=precision))
    texts = ["a cat on a sofa", "sunlit beach, families", "city at night"]
    cosines = (fast.encode_texts(texts) * tiny_encoder.encode_texts(texts)).sum(axis=1)
    assert cosines.min() > 0.95
    images = torch.stack([tiny_encoder.preprocess(pattern_image(i)) for i in range(2)])
    assert np.allclose(fast.encode_images(images), tiny_encoder.encode_images(images), atol=1e-5)


def test_trimmed_text_encoding_equals_open_clips_own(tiny_encoder):
    texts = ["a cat", "sunlit beach with families in warm evening light, wide shot", ""]
    tokens = tiny_encoder._tokenizer(texts)
    with torch.inference_mode():
        full = tiny_encoder.model.encode_text(tokens)
        trimmed = tiny_encoder._encode_trimmed(tokens)
    assert tiny_encoder._trim_text
    assert torch.allclose(full, trimmed, atol=1e-5)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU message")
def test_asking_for_cuda_without_a_gpu_says_so():
    from indexer.encoders.base import resolve_device

    with pytest.raises(ConfigError, match="no CUDA GPU"):
        resolve_device(EncoderOptions(device="cuda"))
    assert resolve_device(EncoderOptions(device="auto")) == "cpu"
