"""``scout review`` and ``scout report`` as a user runs them: real subprocesses on a real library
holding a real brief run's package."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess

import pytest
from PIL import Image

from generation.briefs import Brief
from generation.copy.template import TemplateWriter
from generation.package import package_stages
from generation.run import brief_run
from indexer.library import Library
from search.engine import Searcher
from tests.api.test_cli import SCOUT, scout

PALACE = Brief(id="beijing", subject="the Summer Palace in Beijing", must_show=["a palace"], candidates=1,
               formats=["300x250"])


@pytest.fixture(scope="module")
def packaged(sample_library, offline_encoder, tmp_path_factory):
    """A writable copy of the sample library and a brief run's output folder (3 rendered variants)."""
    base = tmp_path_factory.mktemp("review-cli")
    shutil.copytree(sample_library[0].path, base / "lib")
    reader = Library.open(base / "lib", readonly=True)
    brief_run(Searcher(reader, offline_encoder), base / "out",
              extra_stages=package_stages(TemplateWriter(), reader, offline_encoder)).run([PALACE])
    reader.close()
    return base / "lib", base / "out"


def test_import_rate_add_manual_and_report(packaged, tmp_path):
    library, out = packaged
    lib = ["--library", library]
    imported = json.loads(scout("review", "import", out, *lib, "--json", check=0).stdout)
    assert len(imported["added"]) == 3 and imported["skipped"] == []
    assert json.loads(scout("review", "import", out, *lib, "--json", check=0).stdout)["kept"] == imported["added"]
    assert "not a brief-run folder" in scout("review", "import", tmp_path / "nowhere", *lib, check=2).stderr

    manual = tmp_path / "manual.png"
    Image.new("RGB", (300, 250), (20, 40, 90)).save(manual)
    scout("review", "add-manual", "--destination", "beijing", "--image", manual, "--headline", "Hand made",
          "--cta", "Visit", "--hours", "4", *lib, check=0)
    junk = tmp_path / "junk.png"
    junk.write_text("not pixels")
    assert "junk.png" in scout("review", "add-manual", "-d", "beijing", "-i", junk, "--headline", "x", *lib,
                               check=2).stderr

    queue = json.loads(scout("review", "queue", "-r", "ana", *lib, "--json", check=0).stdout)
    assert len(queue) == 4 and all(item["arm"] is None for item in queue)
    for item, rating in zip(queue, (4, 5, 3, 4)):
        verdict = "--approve" if rating >= 4 else "--reject"
        done = scout("review", "rate", item["id"], rating, "-r", "ana", verdict, "--seconds", "30", *lib, check=0)
        assert "it was" in done.stderr
    assert "Rating 9" in scout("review", "rate", queue[0]["id"], 9, "-r", "ana", "--approve", *lib, check=2).stderr
    assert "--approve or --reject" in scout("review", "rate", queue[0]["id"], 3, "-r", "ana", *lib, check=2).stderr
    assert scout("review", "rate", 999, 3, "-r", "ana", "--approve", *lib).returncode == 7

    # Interactive: ben rates one piece by keyboard, then quits; his queue remembers.
    session = subprocess.run([*SCOUT, "review", "-r", "ben", *map(str, lib)], input="9\n5\nx\na\nfine work\nq\n",
                             capture_output=True, text=True, timeout=300, env={**os.environ, "COLUMNS": "200"})
    assert session.returncode == 0, session.stderr
    assert "This was:" in session.stdout and "Stopped; your ratings are saved" in session.stdout
    assert "Type one of" in session.stderr  # 9 and x were refused, not stored
    assert len(json.loads(scout("review", "queue", "-r", "ben", *lib, "--json", check=0).stdout)) == 3

    report = json.loads(scout("report", *lib, "--json", check=0).stdout)
    assert set(report["arms"]) == {"ai_assisted", "ai_reused", "manual"}
    manual_id = next(i["id"] for i in queue if i["headline"] == "Hand made")
    ana_manual = dict(zip([i["id"] for i in queue], (4, 5, 3, 4)))[manual_id]
    assert report["arms"]["manual"]["mean_rating"] == ana_manual
    assert report["time"]["manual_minutes_per_destination"] == 240
    rows = list(csv.DictReader(io.StringIO(scout("report", *lib, "--csv", check=0).stdout)))
    assert {"section", "arm", "metric", "value"} <= set(rows[0]) and any(r["arm"] == "manual" for r in rows)
    plot = tmp_path / "report.png"
    scout("report", *lib, "--plot", plot, check=0)
    with Image.open(plot) as image:
        assert image.format == "PNG" and image.width > 300
    assert scout("report", *lib, "--plot", tmp_path / "report.gif", check=2).returncode == 2
