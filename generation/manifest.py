"""The files a brief run leaves behind: ``<out>/<brief id>/manifest.json`` and ``<out>/summary.json``.

Both are versioned (``schema_version``) and written atomically (temp file + rename), so a reader
or a resumed run never sees half a file. Manifest schema, version 1::

    schema_version  1
    brief           the brief as validated (all fields, defaults filled in)
    brief_hash      sha256 of the brief's canonical JSON
    run_key         sha256 of brief_hash + aligner model + generator + threshold: what decides
                    whether a resumed run may keep this manifest
    outcome         "reused" | "generated" | "needs_generation"
    decision        {threshold: {value, model_id, how}, wanted, reusable, shortfall, generator,
                     prompt, negative_prompt, error}
    aligner         {name, model_id, scale}
    candidates      ranked list, best first: {rank, source: "library"|"generated", asset_id,
                     original (the file's path), file (its link/copy in this folder, or null),
                     found_by (aspects whose query found it), score, clears_threshold, selected,
                     best, aspects: [{aspect, kind, text, score, reason}], error, generation
                     (provenance of a generated image, else null)}
    best            the best candidate's rank (1) or null when no candidate could be scored
    timings         seconds per stage
    machine_seconds the sum of the stage timings (what the review report counts per destination)
    copy            (copy stage) {status, asset_id, writer, model, limits, facts, variants: [{headline,
                     body, cta, references, language, flags, grounding, ...}], flagged, file: "copy.json"}
    renders         (render stage) per variant and format: the PNG and JPEG files (relative to this
                     folder), text boxes, measured contrast, crop and scrim

The summary lists every brief of the batch (id, outcome, best score, counts, folder, or the
validation error) and the batch's totals.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
SUMMARY = "summary.json"


def write_json(path: Path, data: dict) -> None:
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(temp, path)


def read_manifest(folder: Path) -> dict | None:
    """The manifest in ``folder`` if it is complete and of this schema version, else None."""
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("schema_version") != SCHEMA_VERSION:
        return None
    return data
