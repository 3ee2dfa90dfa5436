"""The ``scout`` command as a user runs it: real subprocesses, real libraries, exit codes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import SAMPLE_AWKWARD, save_tiny_clip, write_images

SCOUT = [sys.executable, "-m", "api.cli"]


def scout(*args, env=None, check=None) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [*SCOUT, *map(str, args)], capture_output=True, text=True, timeout=300,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )
    if check is not None:
        assert result.returncode == check, result.stderr + result.stdout
    return result


@pytest.fixture(scope="module")
def indexed(tmp_path_factory, tiny_clip_dir):
    base = tmp_path_factory.mktemp("cli")
    root = base / "assets"
    shutil.copytree(SAMPLE_AWKWARD, root / "awkward")
    write_images(root / "wide", 6, size=(96, 64))
    write_images(root / "tall", 3, start=50, size=(64, 96), fmt="JPEG")
    library = base / "lib"
    run = scout("index", root, "--library", library, "--model", f"open_clip:local-dir:{tiny_clip_dir}", check=0)
    return library, root, run


def test_console_script_is_installed():
    script = Path(sys.executable).parent / "scout"
    assert script.exists(), "pip install -e . should create the scout command"
    assert "Search a library" in subprocess.run([script, "--help"], capture_output=True, text=True).stdout


def test_index_summary_counts_failures_but_exits_zero(indexed):
    _, _, run = indexed
    assert "11 embedded" in run.stderr and "3 failed" in run.stderr
    assert "scout errors" in run.stderr


def test_status_json(indexed, tiny_clip_dir):
    library, root, _ = indexed
    info = json.loads(scout("status", "--json", "--library", library, check=0).stdout)
    assert info["assets"] == 11 and info["failed"] == 3
    assert info["model"] == f"open_clip:local-dir:{tiny_clip_dir}"
    assert info["roots"] == [str(root)] and info["last_run"]["status"] == "completed"


def test_errors_lists_reason_and_fix(indexed):
    library, _, _ = indexed
    rows = json.loads(scout("errors", "--json", "--library", library, check=0).stdout)
    assert {(Path(r["path"]).name, r["reason"]) for r in rows} == {
        ("empty.jpg", "empty"), ("not-an-image.png", "not_an_image"), ("truncated-temple.jpg", "truncated")}
    assert all(r["hint"] for r in rows)
    text = scout("errors", "--library", library, check=0).stdout
    assert "truncated-temple.jpg" in text and "fix:" in text


def test_search_json_with_filters(indexed):
    library, _, _ = indexed
    rows = json.loads(scout("search", "a photo", "--all", "--json", "-n", "3", "--orientation",
                            "portrait", "--library", library, check=0).stdout)
    assert len(rows) == 3
    assert all({"id", "path", "score", "relevance"} <= set(r) and r["orientation"] == "portrait" for r in rows)


def test_search_like_asset_id(indexed):
    library, _, _ = indexed
    first = json.loads(scout("search", "a photo", "--all", "--json", "-n", "1", "--library", library).stdout)[0]
    like = json.loads(scout("search", "--like", first["id"], "--all", "--json", "-n", "1", "--library", library, check=0).stdout)
    assert like[0]["id"] == first["id"]


def test_strict_makes_failures_fatal(indexed, tiny_clip_dir):
    library, root, _ = indexed
    run = scout("index", root, "--library", library, "--strict", "--retry-failed")
    assert run.returncode == 8


def test_model_mismatch_exit_code_and_hint(indexed, tmp_path):
    library, root, _ = indexed
    other = save_tiny_clip(tmp_path / "other", seed=1)
    run = scout("index", root, "--library", library, "--model", f"open_clip:local-dir:{other}")
    assert run.returncode == 4
    assert "scout reindex --model" in run.stderr


def test_missing_library_exit_code(tmp_path):
    run = scout("search", "cat", "--library", tmp_path / "nothing")
    assert run.returncode == 3 and "scout index" in run.stderr


def test_missing_weights_exit_code_and_message(tmp_path):
    run = scout("index", tmp_path, "--library", tmp_path / "lib", "--model",
                "open_clip:ViT-B-32@laion2b_s34b_b79k", "--cache-dir", tmp_path / "empty-cache")
    assert run.returncode == 5
    assert "laion/CLIP-ViT-B-32-laion2B-s34B-b79K" in run.stderr and "--allow-download" in run.stderr


def test_bad_query_syntax_exit_code(indexed):
    library, _, _ = indexed
    run = scout("search", "--minus", "people", "--library", library)
    assert run.returncode == 2 and "positive" in run.stderr


def test_reindex_switches_the_model(tmp_path, tiny_clip_dir):
    write_images(tmp_path / "assets", 3)
    library = tmp_path / "lib"
    scout("index", tmp_path / "assets", "--library", library, "--model", f"open_clip:local-dir:{tiny_clip_dir}", check=0)
    other = save_tiny_clip(tmp_path / "other", seed=2)
    run = scout("reindex", "--model", f"open_clip:local-dir:{other}", "--library", library, check=0)
    assert "3 embedded" in run.stderr
    info = json.loads(scout("status", "--json", "--library", library, check=0).stdout)
    assert info["model"] == f"open_clip:local-dir:{other}" and info["assets"] == 3


def test_serve_beyond_loopback_generates_and_enforces_a_token(indexed):
    import httpx

    from tests.api.conftest import free_port

    library, _, _ = indexed
    port = free_port()
    process = subprocess.Popen([*SCOUT, "serve", "--library", str(library), "--host", "0.0.0.0",
                                "--port", str(port)], stderr=subprocess.PIPE, text=True)
    try:
        token_line = process.stderr.readline()
        assert "API token" in token_line
        token = token_line.rsplit(" ", 1)[-1].strip()
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                page = httpx.get(url + "/", timeout=5)
                break
            except httpx.TransportError:
                assert process.poll() is None and time.monotonic() < deadline
                time.sleep(0.2)
        assert page.status_code == 200 and "<title>Scout" in page.text
        assert httpx.post(url + "/api/index-jobs", json={}).status_code == 401
        started = httpx.post(url + "/api/index-jobs", json={}, headers={"Authorization": f"Bearer {token}"})
        assert started.status_code == 202
    finally:
        process.terminate()
        process.wait(10)


@pytest.mark.parametrize("args, code, words", [
    (["--like", "18446744073709551616"], 2, "not an asset id"),
    (["--like", "²"], 7, "neither an asset id nor an image file"),
    (["cat:" + "9" * 300], 2, "too large"),
    (["cat", "--format", "bogus"], 2, "Unknown image format"),
    (["cat", "--min-score", "nan"], 2, "finite"),
    ([" | ".join(f"w{i}" for i in range(40))], 2, "at most 16 text parts"),
])
def test_hostile_search_arguments_are_clear_errors(indexed, args, code, words):
    library, _, _ = indexed
    result = scout("search", *args, "--library", library)
    assert result.returncode == code and words in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_bad_library_folders_are_clear_errors_and_left_untouched(tmp_path):
    import hashlib
    import sqlite3

    with sqlite3.connect(tmp_path / "catalog.db") as conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
    conn.close()
    before = hashlib.sha256((tmp_path / "catalog.db").read_bytes()).hexdigest()
    result = scout("status", "--library", tmp_path)
    assert result.returncode == 3 and "not a Scout catalog" in result.stderr, result.stderr
    assert hashlib.sha256((tmp_path / "catalog.db").read_bytes()).hexdigest() == before
    (tmp_path / "afile").write_text("x")
    for command in (["status"], ["index", tmp_path]):
        result = scout(*command, "--library", tmp_path / "afile")
        assert result.returncode == 3 and "is a file, not a library folder" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
