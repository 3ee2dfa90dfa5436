"""Fixtures for the creative pipeline's tests: a loopback OpenAI-compatible server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.generation.fake_openai import FakeOpenAI


@pytest.fixture
def fake_openai():
    """A real HTTP server on 127.0.0.1 speaking the OpenAI wire format; script it with Reply."""
    with FakeOpenAI() as server:
        yield server


@pytest.fixture(scope="session")
def sample_facts(sample_library, offline_encoder):
    """``facts("tabby-cat-chelsea.png")``: ImageFacts of a sample_assets photo in the offline-model
    sample library (the label vocabulary is embedded once per test session)."""
    from generation.copy import image_facts

    library, root = sample_library
    built = {}

    def facts(name: str):
        if name not in built:
            asset = library.catalog.asset_by_path(str(root / name))
            assert asset is not None, f"{name} is not in the sample library"
            built[name] = image_facts(library, offline_encoder, asset.id)
        return built[name]

    return facts


def _byte_level_alphabet() -> list[str]:
    """GPT-2 / CLIP byte-to-unicode table: the 256 symbols a byte-level BPE vocabulary starts from."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    others = [b for b in range(256) if b not in printable]
    return [chr(b) for b in printable] + [chr(256 + i) for i in range(len(others))]


def save_tiny_sd(folder: Path, seed: int = 0) -> Path:
    """A real Stable Diffusion pipeline with tiny random weights, saved as a model folder
    (model_index.json, unet/, vae/, text_encoder/, tokenizer/, scheduler/): no download.

    The tokenizer is a byte-level CLIP BPE with no merges, whose vocabulary the test writes itself.
    The UNet's sample size 16 times the VAE's scale 2 makes the model's native size 32x32.
    """
    import torch
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    alphabet = _byte_level_alphabet()
    vocab = alphabet + [c + "</w>" for c in alphabet] + ["<|startoftext|>", "<|endoftext|>"]
    vocab_dir = folder.parent / f"{folder.name}-vocab"
    vocab_dir.mkdir(parents=True, exist_ok=True)
    (vocab_dir / "vocab.json").write_text(json.dumps({token: i for i, token in enumerate(vocab)}))
    (vocab_dir / "merges.txt").write_text("#version: 0.2\n")
    tokenizer = CLIPTokenizer(str(vocab_dir / "vocab.json"), str(vocab_dir / "merges.txt"), model_max_length=77)

    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        sample_size=16, in_channels=4, out_channels=4, block_out_channels=(4, 8), layers_per_block=1,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=16, attention_head_dim=2, norm_num_groups=2)
    vae = AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(4, 8), norm_num_groups=2,
        down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2, sample_size=32)
    text_encoder = CLIPTextModel(CLIPTextConfig(
        vocab_size=len(vocab), bos_token_id=len(vocab) - 2, eos_token_id=len(vocab) - 1, pad_token_id=len(vocab) - 1,
        hidden_size=16, intermediate_size=32, num_attention_heads=2, num_hidden_layers=1, max_position_embeddings=77))
    scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                              clip_sample=False, set_alpha_to_one=False, steps_offset=1)
    pipe = StableDiffusionPipeline(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet,
                                   scheduler=scheduler, safety_checker=None, feature_extractor=None,
                                   requires_safety_checker=False)
    pipe.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_sd_dir(tmp_path_factory) -> Path:
    return save_tiny_sd(tmp_path_factory.mktemp("tiny-sd") / "tiny-sd")


@pytest.fixture(scope="module")
def mixed_library(tmp_path_factory, tiny_encoder):
    """Four photos and one generated image (brief "porto") indexed with the tiny CLIP; yields
    (library folder, the generated asset's id)."""
    from indexer.generated import Provenance, save_generated
    from tests.conftest import index_folder, pattern_image, write_images

    base = tmp_path_factory.mktemp("mixed")
    write_images(base / "photos", 4)
    library, _ = index_folder(base / "lib", [base / "photos"], tiny_encoder)
    provenance = Provenance(prompt="harbour at dusk, fishing boats", negative_prompt="people", seed=42, steps=25,
                            guidance=7.0, width=64, height=48, model="tiny-sd", generator="diffusers",
                            brief_id="porto")
    (saved,) = save_generated(library, tiny_encoder, [(pattern_image(77, (64, 48)), provenance)])
    library.close()
    return base / "lib", saved.asset.id


@pytest.fixture(scope="module")
def mixed_server(mixed_library, tiny_encoder):
    """The HTTP app over ``mixed_library`` on a real uvicorn server."""
    from api.app import create_app
    from api.deps import ServerSettings
    from tests.api.conftest import LiveServer

    with LiveServer(create_app(mixed_library[0], tiny_encoder, ServerSettings())) as live:
        yield live


@pytest.fixture(scope="module")
def sample_searcher(sample_library, offline_encoder):
    """A Searcher over the offline-model sample library (read-only)."""
    from search.engine import Searcher

    library, _ = sample_library
    return Searcher(library, offline_encoder)


@pytest.fixture(scope="session")
def sample_ids(sample_library) -> dict[str, int]:
    """Asset id of each sample_assets photo in the sample library, by file name."""
    library, root = sample_library
    return {path.name: library.catalog.asset_by_path(str(path)).id for path in sorted(root.iterdir())}
