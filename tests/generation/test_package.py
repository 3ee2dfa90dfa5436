"""The finished package: a brief the library serves -> copy -> every format rendered, listed in the
manifest, and the batch contact sheet, through the same run the CLI uses."""

from __future__ import annotations

import json

from PIL import Image

from generation.briefs import Brief
from generation.compose import MIN_CONTRAST
from generation.copy.template import TemplateWriter
from generation.formats import AdFormat, Box
from generation.package import CONTACT_SHEET, package_stages, write_batch_sheet
from generation.run import brief_run
from search.engine import Searcher

FORMATS = ["1080x1080", "1200x628", "1080x1920"]
PALACE = Brief(id="beijing", subject="the Summer Palace in Beijing", selling_points=["imperial architecture"],
               must_show=["a palace"], candidates=1, formats=FORMATS)


def test_every_variant_is_rendered_in_every_format_and_listed(sample_library, offline_encoder, tmp_path):
    library, _ = sample_library
    searcher = Searcher(library, offline_encoder)
    out = tmp_path / "out"
    runner = brief_run(searcher, out, extra_stages=package_stages(TemplateWriter(), library, offline_encoder),
                       after_batch=[write_batch_sheet])
    (result,) = runner.run([PALACE]).results
    assert result.outcome == "reused"

    folder = out / "beijing"
    manifest = json.loads((folder / "manifest.json").read_text())
    renders = manifest["renders"]
    assert renders["status"] == "rendered" and renders["formats"] == FORMATS
    assert renders["asset_id"] == manifest["copy"]["asset_id"] and renders["files"] == 18
    assert [v["variant"] for v in renders["variants"]] == [1, 2, 3]
    for entry, variant in zip(renders["variants"], manifest["copy"]["variants"]):
        assert entry["headline"] == variant["headline"] and sorted(entry["formats"]) == sorted(FORMATS)
        for name, render in entry["formats"].items():
            fmt = AdFormat.parse(name)
            with Image.open(folder / render["png"]) as png, Image.open(folder / render["jpeg"]) as jpeg:
                assert png.size == jpeg.size == (fmt.width, fmt.height) and jpeg.format == "JPEG"
            safe = Box(*render["safe_area"])
            assert render["min_contrast"] >= MIN_CONTRAST
            assert all(safe.contains(Box(*t["box"])) for t in render["text"])
            assert render["text"][0]["text"].split()[0] in variant["headline"]
            assert render["focus"]["method"] == "subject"

    # Machine time per brief: every stage timed, their sum recorded.
    assert set(manifest["timings"]) >= {"retrieve", "align", "decide", "files", "render"}
    assert any(name.startswith("copy") for name in manifest["timings"])
    assert manifest["machine_seconds"] == round(sum(manifest["timings"].values()), 4) > 0

    # The contact sheet shows the brief's renders, with links relative to the batch folder.
    sheet = (out / CONTACT_SHEET).read_text()
    assert sheet.count('src="beijing/renders/v') == 9 and manifest["copy"]["variants"][0]["headline"][:20] in sheet


def test_no_render_leaves_copy_only_and_the_sheet_says_why_a_brief_has_nothing(sample_library, offline_encoder,
                                                                              tmp_path):
    library, _ = sample_library
    searcher = Searcher(library, offline_encoder)
    nothing = Brief(id="nothing", subject="an astronaut on the moon", candidates=1, formats=["300x250"])
    small = PALACE.model_copy(update={"formats": ["300x250"]})
    runner = brief_run(searcher, tmp_path, after_batch=[write_batch_sheet],
                       extra_stages=package_stages(TemplateWriter(), library, offline_encoder, render=False))
    runner.run([small, nothing])
    kept = json.loads((tmp_path / "beijing" / "manifest.json").read_text())
    assert kept["copy"]["status"] == "written" and "renders" not in kept
    assert not (tmp_path / "beijing" / "renders").exists()
    missing = json.loads((tmp_path / "nothing" / "manifest.json").read_text())
    assert missing["outcome"] == "needs_generation" and missing["copy"]["status"] == "skipped"
    sheet = (tmp_path / CONTACT_SHEET).read_text()
    assert "no catalogued image was chosen" in sheet
