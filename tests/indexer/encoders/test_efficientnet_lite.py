"""Scout's own EfficientNet-Lite and transform give timm's logits and inputs exactly, so the
offline model's vectors did not change when timm left the index path; and an index run with the
offline model imports neither timm nor torchvision."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import timm  # the reference implementation (Scout itself no longer imports it)
import timm.data
import torch

from indexer.decode import decode_image
from indexer.encoders import imagenet_classes
from indexer.encoders.efficientnet_lite import ARCHS, EfficientNetLite, EvalTransform
from indexer.encoders.offline import DEFAULT, LEGACY, Variant, _load_classifier, _load_network
from tests.conftest import SAMPLE_PHOTOS

PHOTOS = ["tabby-cat-chelsea.png", "spacex-rocket-launch.jpg", "pink-flower-closeup.jpg"]


@pytest.mark.parametrize("arch", sorted(ARCHS))
def test_the_network_has_timms_parameters_in_timms_order(arch):
    reference = timm.create_model(arch, pretrained=False).state_dict()
    ours = EfficientNetLite(ARCHS[arch]).state_dict()
    assert list(ours) == list(reference)
    assert [t.shape for t in ours.values()] == [t.shape for t in reference.values()]


@pytest.mark.parametrize("variant", [DEFAULT, LEGACY, Variant("tf_efficientnet_lite2", "gloss", 1000)],
                         ids=lambda v: v.arch)
def test_shipped_weights_give_timms_logits_and_inputs_on_real_photos(variant):
    network = _load_network(variant)
    reference = timm.create_model(variant.arch, pretrained=False).eval()
    reference.load_state_dict(network.state_dict())
    ours = _load_classifier("cpu", variant)  # batch norms folded, channels-last: what the encoder runs
    timm_transform = timm.data.create_transform(**timm.data.resolve_data_config({}, model=reference))
    our_transform = EvalTransform(ARCHS[variant.arch])
    images = [decode_image((SAMPLE_PHOTOS / name).read_bytes(), name, max_pixels=10**9).image for name in PHOTOS]
    ours_in = torch.stack([our_transform(image) for image in images])
    timm_in = torch.stack([timm_transform(image) for image in images])
    assert torch.equal(ours_in, timm_in)
    with torch.inference_mode():
        got, want = ours(ours_in.contiguous(memory_format=torch.channels_last)), reference(timm_in)
        torch.testing.assert_close(network(ours_in), want, rtol=0, atol=1e-5)
    torch.testing.assert_close(got, want, rtol=0, atol=1e-4)  # folding rounds differently
    assert [int(i) for i in got.argmax(-1)] == [int(i) for i in want.argmax(-1)]
    assert int(got[0].argmax()) in (281, 282, 285)  # the cat photo is a tabby/tiger/Egyptian cat


def test_class_words_read_from_timms_files_equal_timms_own_api():
    info = timm.data.ImageNetInfo()
    assert imagenet_classes.synonyms()[281] == ("tabby", "tabby cat")
    assert list(imagenet_classes.synonyms()) == [
        tuple(n.strip() for n in info.index_to_description(i).split(",") if n.strip()) for i in range(1000)]
    assert imagenet_classes._glosses() == [
        info.index_to_description(i, detailed=True).split(": ", 1)[-1].strip() for i in range(1000)]


def test_an_offline_index_run_imports_neither_timm_nor_torchvision(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / PHOTOS[0]).write_bytes((SAMPLE_PHOTOS / PHOTOS[0]).read_bytes())
    run = subprocess.run([sys.executable, "-X", "importtime", "-m", "api.cli", "index", str(folder),
                          "--library", str(tmp_path / "lib"), "--model", "offline", "--no-ocr"],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "1 embedded" in run.stderr, run.stderr[-1500:]
    imported = {line.split("|")[-1].strip() for line in run.stderr.splitlines() if line.startswith("import time:")}
    assert "torch" in imported  # the classifier itself
    assert not imported & {"timm", "torchvision"}, sorted(imported & {"timm", "torchvision"})


def test_the_transform_pickles_without_the_model():
    import pickle

    transform = EvalTransform(ARCHS[DEFAULT.arch])
    image = decode_image((SAMPLE_PHOTOS / PHOTOS[1]).read_bytes(), PHOTOS[1], max_pixels=10**9).image
    copy = pickle.loads(pickle.dumps(transform))
    assert len(pickle.dumps(transform)) < 2000
    assert np.array_equal(copy(image).numpy(), transform(image).numpy())
