"""The copy stage of a brief run: the chosen image's facts, the writer's variants, their limits
and grounding, into ``copy.json`` and the manifest's ``copy`` section.

It follows :class:`generation.run.Stage` (a ``name`` and ``run(state)``), so appending it to the
run's stages is all the wiring it needs. Copy is written for the first selected candidate (the
image the run chose); a brief that ends without a catalogued image gets a ``skipped`` section
saying why. A writer that cannot write (its service stays down) raises, which fails this brief
with the writer's message while the batch goes on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from generation.copy.facts import image_facts
from generation.copy.vocabulary import LabelVocabulary
from generation.copy.writer import CopyWriter
from generation.grounding import ground
from generation.limits import limits_for_formats
from generation.manifest import write_json
from indexer.encoders.base import Encoder
from indexer.library import Library

if TYPE_CHECKING:
    from generation.run import BriefState

COPY_FILE = "copy.json"


class CopyStage:
    def __init__(self, writer: CopyWriter, library: Library, encoder: Encoder, *, variants: int = 3,
                 vocabulary: LabelVocabulary | None = None):
        # The run key is made of stage names: naming the writer and its model here means a batch
        # redone with another writer writes its copy again instead of resuming the old one.
        self.name = f"copy ({writer.name} {writer.model})"
        self.writer, self.library, self.encoder = writer, library, encoder
        self.variants, self.vocabulary = variants, vocabulary

    def run(self, state: "BriefState") -> None:
        chosen = next((c for c in state.ranked() if c.selected and c.asset_id is not None), None)
        if chosen is None:
            state.sections["copy"] = {"status": "skipped", "reason": "no catalogued image was chosen"}
            return
        brief = state.brief
        facts = image_facts(self.library, self.encoder, chosen.asset_id, vocabulary=self.vocabulary)
        limits = limits_for_formats(brief.formats)
        variants = self.writer.write(brief, facts, self.variants, limits)
        variants = ground(variants, facts, self.encoder)
        section = {
            "status": "written", "asset_id": chosen.asset_id, "writer": self.writer.name, "model": self.writer.model,
            "limits": {"headline": limits.headline, "body": limits.body, "cta": limits.cta,
                       "platforms": list(limits.platforms)},
            "facts": facts.to_dict(),
            "variants": [v.model_dump(mode="json") for v in variants],
            "flagged": sum(1 for v in variants if v.flags),
        }
        write_json(state.folder / COPY_FILE, section)
        state.sections["copy"] = {**section, "file": COPY_FILE}
