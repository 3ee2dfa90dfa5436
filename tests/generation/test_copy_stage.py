"""The copy stage in a brief run: copy.json and the manifest section for the chosen image."""

from __future__ import annotations

import json

from generation.briefs import Brief
from generation.copy.stage import COPY_FILE, CopyStage
from generation.copy.template import TemplateWriter
from generation.run import BriefState, Candidate


def test_the_chosen_image_gets_grounded_copy_in_copy_json(sample_library, offline_encoder, tmp_path):
    library, root = sample_library
    cat = library.catalog.asset_by_path(str(root / "tabby-cat-chelsea.png"))
    coffee = library.catalog.asset_by_path(str(root / "cup-of-coffee-on-saucer.png"))
    state = BriefState(Brief(id="b1", subject="Lisbon", formats=["1080x1920"]), tmp_path)
    state.candidates = [Candidate("library", coffee.id, coffee.path, selected=False),
                        Candidate("library", cat.id, cat.path, selected=True)]

    CopyStage(TemplateWriter(), library, offline_encoder).run(state)

    written = json.loads((tmp_path / COPY_FILE).read_text())
    section = state.sections["copy"]
    assert section["file"] == COPY_FILE and written["asset_id"] == cat.id == section["asset_id"]
    assert written["limits"]["platforms"] == ["meta-stories"] and len(written["variants"]) == 3
    assert written["flagged"] == 0
    assert all(v["grounding"] and all(c["shown"] for c in v["grounding"]) for v in written["variants"])
    assert any(label["name"] in ("cat", "tabby") for label in written["facts"]["labels"])


def test_no_chosen_image_means_a_skipped_section(sample_library, offline_encoder, tmp_path):
    library, _ = sample_library
    state = BriefState(Brief(id="b2", subject="Lisbon"), tmp_path)
    stage = CopyStage(TemplateWriter(), library, offline_encoder)
    stage.run(state)
    assert stage.name == "copy (template templates-v1)"
    assert state.sections["copy"]["status"] == "skipped" and not (tmp_path / COPY_FILE).exists()
