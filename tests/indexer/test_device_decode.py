"""The device decode dispatch: which JPEGs the device takes and why the rest keep the CPU path,
EXIF orientation, and vectors equal to the CPU path's.

Every file is written here with Pillow. The batched path runs with ``device="cpu"`` (torchvision's
libjpeg-turbo decoder), the same code a CUDA run takes; the nvJPEG test runs only on a GPU.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageCms
from torchvision import transforms as T

from indexer.decode import decode_image
from indexer.device_decode import (DEVICE, DeviceDecoder, JpegFrame, TensorPreprocess, device_decoder_for_run,
                                   inspect_jpeg, jpeg_route, thumbnail_size)
from indexer.encoders import load_encoder
from indexer.engines import load_engine
from indexer.errors import ConfigError
from indexer.library import Library
from indexer.pipeline import IndexRun
from indexer.settings import EncoderOptions, EngineSettings, IndexSettings
from tests.conftest import SAMPLE_AWKWARD, SAMPLE_PHOTOS, pattern_image, write_images
from tests.indexer.convergence import assert_same_catalog, catalog_snapshot

MAX_PIXELS = 120_000_000


def jpeg(image: Image.Image, orientation: int = 1, **options) -> bytes:
    if orientation != 1:
        exif = Image.Exif()
        exif[0x0112] = orientation
        options["exif"] = exif.tobytes()
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90, **options)
    return buffer.getvalue()


def quadrants(size=(160, 120)) -> Image.Image:
    """Red, green / blue, yellow: each quadrant says where it ended up."""
    w, h = size
    array = np.zeros((h, w, 3), np.uint8)
    array[: h // 2, : w // 2] = (220, 20, 20)
    array[: h // 2, w // 2 :] = (20, 200, 20)
    array[h // 2 :, : w // 2] = (20, 20, 220)
    array[h // 2 :, w // 2 :] = (230, 230, 20)
    return Image.fromarray(array)


def corner_colours(pixels: np.ndarray) -> list[tuple[int, ...]]:
    """Mean colour of the four quadrants (TL, TR, BL, BR), rounded to tens."""
    h, w = pixels.shape[:2]
    parts = [pixels[: h // 2, : w // 2], pixels[: h // 2, w // 2 :], pixels[h // 2 :, : w // 2], pixels[h // 2 :, w // 2 :]]
    return [tuple(int(round(c / 10.0)) * 10 for c in part.reshape(-1, 3).mean(0)) for part in parts]


def cpu_path(data: bytes, encoder) -> torch.Tensor:
    return encoder.preprocess(decode_image(data, "x.jpg", max_pixels=MAX_PIXELS).image)


def photo_jpegs(count: int = 12) -> list[bytes]:
    """Real photos as baseline JPEGs of camera-like aspect, some stored rotated with EXIF orientation."""
    out = []
    for i, path in enumerate(sorted(SAMPLE_PHOTOS.iterdir())[:count]):
        image = Image.open(path).convert("RGB")
        image.thumbnail((900, 900))
        orientation = (1, 6, 3, 8)[i % 4]
        out.append(jpeg(image, orientation))
    return out


# -- routing --------------------------------------------------------------------------------------


@pytest.mark.parametrize("make, route", [
    (lambda: jpeg(pattern_image(1, (200, 120))), DEVICE),
    (lambda: jpeg(pattern_image(2).convert("L")), DEVICE),
    (lambda: jpeg(pattern_image(3), 6), DEVICE),
    (lambda: jpeg(pattern_image(4), icc_profile=ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()),
     DEVICE),
    (lambda: jpeg(pattern_image(5), progressive=True), "progressive"),
    (lambda: jpeg(pattern_image(6).convert("CMYK")), "cmyk"),
    (lambda: jpeg(pattern_image(7), icc_profile=ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()),
     "icc_profile"),
    (lambda: _png(pattern_image(8)), "not_jpeg"),
    (lambda: jpeg(pattern_image(9))[:-300], "no_end_marker"),
    (lambda: jpeg(pattern_image(10))[:120], "header_cut"),
    (lambda: (SAMPLE_AWKWARD / "truncated-temple.jpg").read_bytes(), "no_end_marker"),
    (lambda: (SAMPLE_AWKWARD / "empty.jpg").read_bytes(), "not_jpeg"),
    (lambda: (SAMPLE_AWKWARD / "not-an-image.png").read_bytes(), "not_jpeg"),
    (lambda: b"\xff\xd8\x00garbage" * 10, "corrupt_header"),
    (lambda: _patched_sof(0xC9), "arithmetic"),
    (lambda: _patched_sof(0xC3), "lossless"),
    (lambda: _patched_sof(0xC1), DEVICE),
    (lambda: _patched_precision(12), "12_bit"),
])
def test_each_file_takes_the_route_its_coding_allows(make, route):
    assert jpeg_route(make()) == route


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _sof_offset(data: bytes) -> int:
    return data.index(b"\xff\xc0")


def _patched_sof(marker: int) -> bytes:
    data = bytearray(jpeg(pattern_image(11)))
    data[_sof_offset(bytes(data)) + 1] = marker
    return bytes(data)


def _patched_precision(bits: int) -> bytes:
    data = bytearray(jpeg(pattern_image(12)))
    data[_sof_offset(bytes(data)) + 4] = bits
    return bytes(data)


def test_the_frame_names_size_orientation_and_mode_and_the_pixel_limit_routes_to_the_cpu():
    data = jpeg(pattern_image(1, (200, 120)), 8)
    frame = inspect_jpeg(data)
    assert frame == JpegFrame(200, 120, 3, 8)
    assert frame.oriented_size == (120, 200) and frame.mode == "RGB"
    assert inspect_jpeg(jpeg(pattern_image(2).convert("L"))).mode == "L"
    assert jpeg_route(data, max_pixels=200 * 120 - 1) == "over_pixel_limit"
    assert jpeg_route(data, max_pixels=200 * 120) == DEVICE


def test_a_malformed_exif_block_means_no_rotation_not_a_crash():
    data = jpeg(pattern_image(1), 6)
    start = data.index(b"Exif\0\0") + 6
    broken = data[:start + 4] + b"\xff\xff\xff\x7f" + data[start + 8:]  # IFD0 offset far past the end
    assert inspect_jpeg(broken).orientation == 1


def test_thumbnail_size_matches_pillow():
    for size in [(4000, 3000), (3000, 4000), (321, 10), (100, 80), (320, 320)]:
        image = Image.new("RGB", size)
        image.thumbnail((320, 320))
        assert thumbnail_size(*size, 320) == image.size


# -- the transform on tensors ---------------------------------------------------------------------


def test_encoder_transforms_are_redone_on_tensors_and_unknown_ones_refused(tiny_encoder, offline_encoder):
    clip = TensorPreprocess.from_transform(tiny_encoder.image_transform())
    assert clip is not None and clip.size == 32 and clip.crop == (32, 32)
    offline = TensorPreprocess.from_transform(offline_encoder.image_transform())
    assert offline is not None and offline.crop == (240, 240)
    assert TensorPreprocess.from_transform(T.Compose([T.RandomCrop(32), T.ToTensor()])) is None
    assert TensorPreprocess.from_transform(lambda image: image) is None
    assert DeviceDecoder.for_transform(T.Compose([T.Grayscale(), T.ToTensor()]), "cpu") is None


def test_tensor_preprocessing_matches_the_pil_transform(tiny_encoder):
    image = Image.open(SAMPLE_PHOTOS / "tabby-cat-chelsea.png").convert("RGB")
    image.thumbnail((500, 500))
    preprocess = TensorPreprocess.from_transform(tiny_encoder.image_transform())
    on_tensor = preprocess(torch.from_numpy(np.asarray(image).copy()).permute(2, 0, 1))
    gap = (on_tensor - tiny_encoder.preprocess(image)).abs()
    assert gap.mean() < 0.02 and gap.max() < 0.3  # normalised units: 0.02 is ~1.4 grey levels


# -- decoding on the device (here: torchvision's CPU decoder, same code) -------------------------


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orientation_matches_the_cpu_path_for_all_eight(orientation):
    data = jpeg(quadrants(), orientation)
    decoder = DeviceDecoder(TensorPreprocess(None, None, None, None, (0.0,) * 3, (1 / 255,) * 3), "cpu")
    [result] = decoder.decode([(data, inspect_jpeg(data))])
    expected = np.asarray(decode_image(data, "q.jpg", max_pixels=MAX_PIXELS).image)
    assert result.thumbnail.shape == expected.shape
    assert corner_colours(result.thumbnail) == corner_colours(expected)
    assert corner_colours(result.tensor.permute(1, 2, 0).numpy()) == corner_colours(expected)


def test_rotated_90_clockwise_puts_the_bottom_left_quadrant_top_left():
    data = jpeg(quadrants(), 6)
    decoder = DeviceDecoder(TensorPreprocess(None, None, None, None, (0.0,) * 3, (1 / 255,) * 3), "cpu")
    [result] = decoder.decode([(data, inspect_jpeg(data))])
    tl, tr, bl, br = corner_colours(result.thumbnail)
    assert result.thumbnail.shape[:2] == (160, 120)  # portrait now
    assert tl == (20, 20, 220) and tr == (220, 20, 20) and bl == (230, 230, 20) and br == (20, 200, 20)


def test_dispatch_vectors_equal_the_cpu_paths(tiny_encoder):
    datas = photo_jpegs()
    decoder = DeviceDecoder.for_transform(tiny_encoder.image_transform(), "cpu")
    decoded = decoder.decode([(d, inspect_jpeg(d)) for d in datas])
    assert all(d is not None for d in decoded)
    device_inputs = torch.stack([d.tensor for d in decoded])
    cpu_inputs = torch.stack([cpu_path(d, tiny_encoder) for d in datas])
    gap = (device_inputs - cpu_inputs).abs()
    device, cpu = tiny_encoder.encode_images(device_inputs), tiny_encoder.encode_images(cpu_inputs)
    cosines = np.sum(device * cpu, axis=1)
    print(f"dispatch vs CPU path, tiny open_clip, {len(datas)} photos: min {cosines.min():.5f}, "
          f"mean {cosines.mean():.5f}; model input gap mean {gap.mean():.4f}, max {gap.max():.3f}")
    assert cosines.min() >= 0.99
    # random tiny weights map all photos within ~0.98 of each other, so the inputs are compared too
    assert gap.mean() < 0.01 and gap.max() < 0.5
    # and the vectors still tell the photos apart: each is nearest to its own CPU-path vector
    assert (np.argmax(device @ cpu.T, axis=1) == np.arange(len(datas))).all()


def test_dispatch_vectors_equal_the_cpu_paths_with_the_offline_model(offline_encoder):
    datas = photo_jpegs(8)
    transform = offline_encoder.image_transform()
    decoder = DeviceDecoder.for_transform(transform, "cpu")
    decoded = decoder.decode([(d, inspect_jpeg(d)) for d in datas])
    device = offline_encoder.encode_images(torch.stack([d.tensor for d in decoded]))
    cpu = offline_encoder.encode_images(torch.stack([cpu_path(d, offline_encoder) for d in datas]))
    cosines = np.sum(device * cpu, axis=1)
    print(f"dispatch vs CPU path, offline model, {len(datas)} photos: min {cosines.min():.4f}, "
          f"mean {cosines.mean():.4f}")
    assert cosines.min() >= 0.95 and cosines.mean() >= 0.98


def test_a_file_the_decoder_refuses_comes_back_for_the_cpu_path_and_spares_the_batch(tiny_encoder):
    good = jpeg(pattern_image(1, (200, 120)))
    broken = bytearray(jpeg(pattern_image(2, (200, 120))))
    broken[400:800] = np.random.default_rng(0).integers(0, 255, 400, dtype=np.uint8).tobytes()
    assert jpeg_route(bytes(broken)) == DEVICE  # the header is fine: only decoding finds out
    decoder = DeviceDecoder.for_transform(tiny_encoder.image_transform(), "cpu")
    results = decoder.decode([(good, inspect_jpeg(good)), (bytes(broken), inspect_jpeg(bytes(broken))),
                              (good, inspect_jpeg(good))])
    assert results[1] is None and results[0] is not None and results[2] is not None
    assert torch.equal(results[0].tensor, results[2].tensor)


def test_a_header_that_lies_about_the_size_is_left_to_the_cpu_path(tiny_encoder):
    data = jpeg(pattern_image(1, (200, 120)))
    decoder = DeviceDecoder.for_transform(tiny_encoder.image_transform(), "cpu")
    [result] = decoder.decode([(data, JpegFrame(300, 120, 3, 1))])
    assert result is None


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_nvjpeg_decodes_like_the_cpu_decoder(tiny_encoder):  # pragma: no cover - GPU machines
    datas = photo_jpegs()
    items = [(d, inspect_jpeg(d)) for d in datas]
    on_gpu = DeviceDecoder.for_transform(tiny_encoder.image_transform(), "cuda").decode(items)
    on_cpu = DeviceDecoder.for_transform(tiny_encoder.image_transform(), "cpu").decode(items)
    for gpu, cpu in zip(on_gpu, on_cpu):
        assert gpu.tensor.device.type == "cuda"
        assert (gpu.tensor.cpu() - cpu.tensor).abs().mean() < 0.02
        assert np.abs(gpu.thumbnail.astype(int) - cpu.thumbnail.astype(int)).mean() < 3


# -- in an index run ------------------------------------------------------------------------------


def _mixed_jpeg_folder(folder: Path) -> Path:
    """Routed JPEGs (plain, rotated, grey, a copy) next to everything that keeps the CPU path, a
    JPEG only decoding finds broken (twice, byte for byte) and a non-image."""
    paths = write_images(folder, 6, size=(160, 120), fmt="JPEG")
    (folder / "rotated.jpg").write_bytes(jpeg(quadrants(), 6))
    (folder / "grey.jpg").write_bytes(jpeg(pattern_image(20, (120, 90)).convert("L")))
    (folder / "copy-of-first.jpg").write_bytes(paths[0].read_bytes())
    (folder / "progressive.jpg").write_bytes(jpeg(pattern_image(21, (160, 120)), progressive=True))
    (folder / "cmyk.jpg").write_bytes(jpeg(pattern_image(22, (160, 120)).convert("CMYK")))
    (folder / "plain.png").write_bytes(_png(pattern_image(23)))
    shutil.copy(SAMPLE_AWKWARD / "truncated-temple.jpg", folder / "truncated.jpg")
    broken = bytearray(jpeg(pattern_image(2, (400, 300))))
    broken[400:800] = np.random.default_rng(0).integers(0, 255, 400, dtype=np.uint8).tobytes()
    (folder / "scan-broken.jpg").write_bytes(bytes(broken))
    (folder / "scan-broken-again.jpg").write_bytes(bytes(broken))
    (folder / "notes.txt").write_text("not an image")
    return folder


def _run(library_dir: Path, folder: Path, encoder, gpu_decode: str, engine: str = "threads", batch_size: int = 32):
    library = Library.create_or_open(library_dir)
    settings = IndexSettings(batch_size=batch_size, commit_every=batch_size, gpu_decode=gpu_decode)
    result = IndexRun(library, encoder, settings, engine=load_engine(EngineSettings(name=engine, workers=2))).run(
        [folder])
    return library, result


def test_a_run_decoding_jpegs_on_the_device_gives_the_cpu_paths_catalog(tmp_path, tiny_encoder):
    folder = _mixed_jpeg_folder(tmp_path / "photos")
    cpu, cpu_run = _run(tmp_path / "lib-cpu", folder, tiny_encoder, "off")
    # batch 16: the routed JPEGs go to the device thread 4 at a time while the run keeps consuming
    device, run = _run(tmp_path / "lib-device", folder, tiny_encoder, "on", batch_size=16)
    assert run.stats.on_device == 8 and cpu_run.stats.on_device == 0  # 6 plain, rotated, grey
    counts = lambda s: (s.embedded, s.reused, s.failed, s.ignored)  # noqa: E731
    assert counts(run.stats) == counts(cpu_run.stats) == (11, 1, 3, 1)
    assert {(f.path, f.reason) for f in device.catalog.failures()} == {(f.path, f.reason) for f in cpu.catalog.failures()}
    assert {Path(f.path).name for f in device.catalog.failures()} == {
        "truncated.jpg", "scan-broken.jpg", "scan-broken-again.jpg"}
    got, want = catalog_snapshot(device), catalog_snapshot(cpu)
    assert set(got) == set(want)
    cosines = []
    for path, (content_hash, vector) in want.items():
        assert got[path][0] == content_hash
        cosines.append(float(np.dot(got[path][1], vector)))
        on, off = device.catalog.asset_by_path(path), cpu.catalog.asset_by_path(path)
        assert (on.width, on.height, on.format) == (off.width, off.height, off.format), path
        assert on.thumbnail and (device.path / on.thumbnail).is_file(), path
        assert Image.open(device.path / on.thumbnail).size == Image.open(cpu.path / off.thumbnail).size, path
    print(f"index run, gpu-decode on (CPU device) vs off, tiny open_clip: min cosine {min(cosines):.5f}")
    assert min(cosines) >= 0.99
    rotated = device.catalog.asset_by_path(str(folder / "rotated.jpg"))
    assert (rotated.width, rotated.height) == (120, 160)
    tl, tr, _, _ = corner_colours(np.asarray(Image.open(device.path / rotated.thumbnail).convert("RGB")))
    assert tl == (20, 20, 220) and tr == (220, 20, 20)  # the stored thumbnail is upright too

    again = IndexRun(device, tiny_encoder, IndexSettings(gpu_decode="on")).run([folder])
    assert again.stats.embedded == 0 and again.stats.on_device == 0


def test_worker_processes_route_jpegs_to_the_device_batch_too(tmp_path, tiny_encoder):
    folder = _mixed_jpeg_folder(tmp_path / "photos")
    threads, _ = _run(tmp_path / "lib-threads", folder, tiny_encoder, "on", batch_size=4)
    processes, run = _run(tmp_path / "lib-processes", folder, tiny_encoder, "on", engine="processes", batch_size=4)
    assert run.stats.on_device == 8
    assert_same_catalog(processes, threads)


def test_when_the_device_decodes_and_when_it_cannot(tiny_encoder):
    transform = tiny_encoder.image_transform()
    assert device_decoder_for_run("off", "cuda", transform, "threads", 320) is None
    assert device_decoder_for_run("auto", "cpu", transform, "threads", 320) is None  # CPU runs: nothing changes
    assert device_decoder_for_run("on", "cpu", transform, "processes", 320).device == "cpu"
    assert device_decoder_for_run("auto", "cuda", transform, "ray", 320) is None
    with pytest.raises(ConfigError, match="the ray engine embeds on its workers"):
        device_decoder_for_run("on", "cpu", transform, "ray", 320)
    odd = T.Compose([T.Grayscale(3), T.ToTensor()])
    assert device_decoder_for_run("auto", "cuda", odd, "threads", 320) is None
    with pytest.raises(ConfigError, match="preprocessing cannot run on the GPU"):
        device_decoder_for_run("on", "cpu", odd, "threads", 320)
    with pytest.raises(ConfigError, match="Unknown --gpu-decode 'sideways'"):
        IndexSettings(gpu_decode="sideways")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks a machine without CUDA")
def test_without_a_cuda_decoder_auto_stays_off_and_on_says_why(tiny_encoder):
    transform = tiny_encoder.image_transform()
    assert device_decoder_for_run("auto", "cuda", transform, "threads", 320) is None
    with pytest.raises(ConfigError, match="cannot decode JPEGs on cuda"):
        device_decoder_for_run("on", "cuda", transform, "threads", 320)


def test_scout_index_gpu_decode_flag(tmp_path, tiny_clip_dir):
    folder = tmp_path / "photos"
    write_images(folder, 3, fmt="JPEG")
    base = [sys.executable, "-m", "api.cli", "index", folder, "--library", tmp_path / "lib",
            "--model", f"open_clip:local-dir:{tiny_clip_dir}", "--device", "cpu"]
    run = subprocess.run([*base, "--gpu-decode", "on"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0 and "3 embedded" in run.stderr, run.stderr
    status = subprocess.run([sys.executable, "-m", "api.cli", "status", "--json", "--library", tmp_path / "lib"],
                            capture_output=True, text=True, timeout=300)
    assert json.loads(status.stdout)["last_run"]["stats"]["on_device"] == 3


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_a_cuda_run_decodes_on_the_gpu_by_default_and_matches_the_cpu_path(tmp_path, tiny_clip_dir):  # pragma: no cover
    folder = _mixed_jpeg_folder(tmp_path / "photos")
    spec = f"open_clip:local-dir:{tiny_clip_dir}"
    on_gpu = load_encoder(spec, EncoderOptions(device="cuda", image_precision="fp32"))
    gpu, run = _run(tmp_path / "lib-gpu", folder, on_gpu, "auto", batch_size=16)
    cpu, _ = _run(tmp_path / "lib-cpu", folder, load_encoder(spec, EncoderOptions(device="cpu")), "auto")
    assert run.stats.on_device == 8
    got, want = catalog_snapshot(gpu), catalog_snapshot(cpu)
    assert set(got) == set(want)
    assert min(float(np.dot(got[p][1], want[p][1])) for p in want) >= 0.99
