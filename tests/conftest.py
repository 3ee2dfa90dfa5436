"""Fixtures that build real things: image files, small libraries, a tiny open_clip model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from indexer.encoders import load_encoder
from indexer.library import Library
from indexer.pipeline import IndexRun
from indexer.settings import EncoderOptions, IndexSettings

REPO = Path(__file__).resolve().parent.parent
SAMPLE_PHOTOS = REPO / "sample_assets" / "photos"
SAMPLE_AWKWARD = REPO / "sample_assets" / "awkward"


def pattern_image(seed: int, size: tuple[int, int] = (96, 64)) -> Image.Image:
    """A distinct, deterministic RGB picture (gradient + blocks) so every seed hashes apart."""
    rng = np.random.default_rng(seed)
    w, h = size
    y, x = np.mgrid[0:h, 0:w]
    base = rng.integers(0, 255, 3)
    array = np.stack([(x * (c + 1) + y * (seed % 7) + base[c]) % 256 for c in range(3)], -1)
    for _ in range(3):
        x0, y0 = rng.integers(0, w // 2), rng.integers(0, h // 2)
        array[y0 : y0 + h // 3, x0 : x0 + w // 3] = rng.integers(0, 255, 3)
    return Image.fromarray(array.astype(np.uint8), "RGB")


def write_images(folder: Path, count: int, start: int = 0, size=(96, 64), fmt="PNG") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for seed in range(start, start + count):
        path = folder / f"img-{seed:04d}.{fmt.lower()}"
        pattern_image(seed, size).save(path, fmt)
        paths.append(path)
    return paths


TINY_CLIP_CONFIG = {
    "model_cfg": {
        "embed_dim": 32,
        "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 8, "head_width": 16},
        "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
    },
    "preprocess_cfg": {
        "mean": [0.48145466, 0.4578275, 0.40821073],
        "std": [0.26862954, 0.26130258, 0.27577711],
    },
}


def save_tiny_clip(folder: Path, seed: int = 0) -> Path:
    """A real open_clip CLIP with random weights, saved the way the Hugging Face Hub lays it out."""
    import open_clip
    import torch

    torch.manual_seed(seed)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "open_clip_config.json").write_text(json.dumps(TINY_CLIP_CONFIG))
    model = open_clip.CLIP(**TINY_CLIP_CONFIG["model_cfg"])
    torch.save(model.state_dict(), folder / "open_clip_pytorch_model.bin")
    return folder


@pytest.fixture(scope="session", autouse=True)
def _ocr_off_unless_asked():
    """`scout index` and server index jobs skip OCR on libraries that never chose ($SCOUT_OCR, read
    at the edge): it costs ~0.5 s an image and only tests/indexer/test_ocr.py looks at its output."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SCOUT_OCR", "off")
        yield


@pytest.fixture(scope="session")
def tiny_clip_dir(tmp_path_factory) -> Path:
    return save_tiny_clip(tmp_path_factory.mktemp("tiny-clip"))


@pytest.fixture(scope="session")
def tiny_encoder(tiny_clip_dir):
    return load_encoder(f"open_clip:local-dir:{tiny_clip_dir}", EncoderOptions(device="cpu"))


@pytest.fixture(scope="session")
def offline_encoder(tmp_path_factory):
    return load_encoder("offline", EncoderOptions(device="cpu"))


def commit_vectors(library: Library, data: np.ndarray, start: int = 0, folder=lambda i: "/lib") -> None:
    """Catalog rows for ready-made vectors, one asset per row (``start + i`` names the file and
    the content), without images: how tests get libraries large enough for an IVF index."""
    from indexer.catalog import Batch, ContentWrite, FileWrite

    batch = Batch()
    for i, vector in enumerate(data, start):
        batch.contents.append(ContentWrite(f"{i:032x}", "JPEG", 10, 10, "RGB", vector, None))
        batch.assets.append((FileWrite(f"{folder(i)}/{i}.jpg", "/lib", 1, 1), f"{i:032x}"))
    library.catalog.commit_batch(batch)


def index_folder(library_dir: Path, folders: list[Path], encoder, passes=(), **settings):
    library = Library.create_or_open(library_dir)
    result = IndexRun(library, encoder, IndexSettings(**settings), passes=passes).run(folders)
    return library, result


@pytest.fixture(scope="session")
def sample_library(tmp_path_factory, offline_encoder):
    """sample_assets/photos copied into a temp dir and indexed with the offline model, once."""
    root = tmp_path_factory.mktemp("sample") / "photos"
    shutil.copytree(SAMPLE_PHOTOS, root)
    library, _ = index_folder(tmp_path_factory.mktemp("sample-lib"), [root], offline_encoder)
    library.close()
    return Library.open(library.path, readonly=True), root


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Headless Chromium (see tests/browser.py), one per test module."""
    from tests.browser import start_chromium

    driver = start_chromium(tmp_path_factory.mktemp("chromium-profile"))
    yield driver
    driver.quit()
