"""Kill a brief batch mid-run and run it again: the same manifests as an uninterrupted run, and
no generated image twice. The CLI runs as a subprocess (as a user runs it) against a copy of the
sample library; its image generator is the loopback OpenAI-compatible server."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from PIL import Image

pytestmark = pytest.mark.slow

BRIEFS = [
    {"id": "beijing", "subject": "the Summer Palace in Beijing", "must_show": ["a palace"], "candidates": 1},
    {"id": "lisbon", "subject": "a yellow tram in Lisbon at sunset", "candidates": 2, "formats": ["64x64"]},
    {"id": "vienna", "subject": "a cup of coffee in a Viennese coffee house", "selling_points": ["espresso"],
     "candidates": 1},
    {"id": "cat-cafe", "subject": "a cat", "candidates": 1},
    {"id": "santorini", "subject": "whitewashed houses in Santorini", "candidates": 1, "formats": ["64x64"]},
    {"id": "space", "subject": "a rocket launch", "selling_points": ["a missile"], "candidates": 1},
    {"id": "kyoto", "subject": "a temple in Kyoto", "tone": "calm", "candidates": 1, "formats": ["64x64"]},
    {"id": "palace-2", "subject": "a palace", "candidates": 1},
]


def picture_for(body: dict) -> list[bytes]:
    """Images that depend on the prompt only, as a seeded model's would."""
    digest = hashlib.sha256(body["prompt"].encode()).digest()
    images = []
    for i in range(int(body.get("n", 1))):
        buffer = io.BytesIO()
        Image.new("RGB", (32, 32), tuple(digest[3 * i: 3 * i + 3])).save(buffer, "PNG")
        images.append(buffer.getvalue())
    return images


def command(library: Path, briefs: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "api.cli", "brief", "run", str(briefs), "--library", str(library),
            "--out", str(out), "--generator", "openai-images", "--json"]


def normalised(out: Path, library: Path) -> dict[str, dict]:
    result = {}
    for path in sorted(out.glob("*/manifest.json")):
        text = path.read_text().replace(str(library), "LIBRARY")
        data = json.loads(text)
        data.pop("timings")
        data.pop("machine_seconds", None)
        for candidate in data["candidates"]:
            if candidate["generation"]:
                candidate["generation"].pop("created_at")
        result[path.parent.name] = data
    return result


def generated_files(library: Path) -> list[str]:
    return sorted(p.name for p in (library / "generated").rglob("*.png")) if (library / "generated").exists() else []


def test_a_killed_batch_resumes_to_the_same_manifests(sample_library, fake_openai, tmp_path):
    library, _ = sample_library
    fake_openai.images_handler = picture_for
    env = {**os.environ, "SCOUT_IMAGES_BASE_URL": fake_openai.url, "SCOUT_IMAGES_MODEL": "test-images",
           "COLUMNS": "200"}
    briefs = tmp_path / "briefs.yaml"
    briefs.write_text(yaml.safe_dump(BRIEFS))
    whole_lib, killed_lib = tmp_path / "whole-lib", tmp_path / "killed-lib"
    shutil.copytree(library.path, whole_lib)
    shutil.copytree(library.path, killed_lib)

    whole = subprocess.run(command(whole_lib, briefs, tmp_path / "whole"), env=env, capture_output=True,
                           text=True, timeout=600)
    assert whole.returncode == 0, whole.stderr

    out = tmp_path / "killed"
    process = subprocess.Popen(command(killed_lib, briefs, out), env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while len(list(out.glob("*/manifest.json"))) < 2 and process.poll() is None:
        assert time.monotonic() < deadline, "the batch never got going"
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    finished = len(list(out.glob("*/manifest.json")))
    assert 2 <= finished < len(BRIEFS), "the kill came too late to test resuming"

    resumed = subprocess.run(command(killed_lib, briefs, out), env=env, capture_output=True, text=True,
                             timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads(resumed.stdout)
    assert sum(b["resumed"] for b in summary["briefs"]) >= finished
    assert summary["finished"] == summary["total"] == len(BRIEFS)
    assert normalised(out, killed_lib) == normalised(tmp_path / "whole", whole_lib)
    assert generated_files(killed_lib) == generated_files(whole_lib)
    assert len(generated_files(whole_lib)) == len(set(generated_files(whole_lib))) > 0
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]
