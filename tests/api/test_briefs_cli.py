"""``scout brief``: exit codes and messages as a user sees them (real subprocesses)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import REPO

SCOUT = [sys.executable, "-m", "api.cli", "brief"]


def scout_brief(*args) -> subprocess.CompletedProcess:
    return subprocess.run([*SCOUT, *map(str, args)], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "COLUMNS": "200"})


def test_check_accepts_the_examples_and_names_what_is_wrong(tmp_path):
    ok = scout_brief("check", REPO / "examples" / "briefs" / "autumn-batch.csv")
    assert ok.returncode == 0 and "2 valid, 0 problems" in ok.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text("id,subject,formats,candidates\nok,Lisbon,1080x1080,1\nwide,Porto,1080x1080;huge,50\n")
    result = scout_brief("check", bad)
    assert result.returncode == 2
    assert f"{bad}, row 3 (id wide), field 'formats'" in result.stderr
    assert f"{bad}, row 3 (id wide), field 'candidates'" in result.stderr
    missing = scout_brief("check", tmp_path / "nope.yaml")
    assert missing.returncode == 2 and "does not exist" in missing.stderr and "Traceback" not in missing.stderr


def test_a_threshold_chosen_for_another_model_is_refused(sample_library, tmp_path):
    library, _ = sample_library
    threshold = tmp_path / "threshold.json"
    threshold.write_text(json.dumps({"model_id": "clip:open_clip:ViT-B-32@laion2b_s34b_b79k", "value": 3.0}))
    result = scout_brief("run", REPO / "examples" / "briefs" / "space-coast.json", "--library", library.path,
                         "--threshold-file", threshold, "--out", tmp_path / "out")
    assert result.returncode == 4, result.stderr
    assert "not comparable" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()
