"""Re-index of an unchanged library: how long `scout index` takes when nothing changed.

    python -m benchmarks.reindex_unchanged --files 100000

Makes ``--files`` small files in 500 folders and a catalog that already knows all of them (as a
finished first run would leave it), then times, in the same run:

  walk+stat floor   os.scandir over the tree with a stat per file (the least any tool must do)
  per-file lookup   walk + one catalog query per file (the obvious way to ask "seen this?")
  rehash            read and hash every file; the files here are 515 bytes and in the page
                    cache, so this is a lower bound: on camera files it reads the whole library
  scout index       a real IndexRun over the tree (stat-only change detection, no commits)
"""

from __future__ import annotations

import argparse
import hashlib
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from indexer.catalog import Batch, ContentWrite, FileWrite
from indexer.encoders import load_encoder
from indexer.library import Library
from indexer.pipeline import IndexRun, content_hash
from indexer.scan import ScannedFile, walk

CACHE = Path(os.environ.get("SCOUT_BENCH_CACHE", Path(tempfile.gettempdir()) / "scout-bench"))


def make_tree(root: Path, count: int) -> None:
    marker = root / ".complete"
    if marker.exists():
        return
    for i in range(count):
        folder = root / f"shoot-{i % 500:03d}"
        if i < 500:
            folder.mkdir(parents=True, exist_ok=True)
        (folder / f"img-{i:07d}.jpg").write_bytes(b"\xff\xd8\xff" + i.to_bytes(8, "little") * 64)
    marker.write_text("ok")


def make_catalog(path: Path, root: Path, model_id: str, dim: int) -> Library:
    library = Library.create_or_open(path)
    library.catalog.set_meta(model=model_id, dim=str(dim))
    library.catalog.add_roots([str(root)])
    vector = np.ones(dim, dtype=np.float32) / np.sqrt(dim)
    batch = Batch()
    for item in walk(root):
        assert isinstance(item, ScannedFile)
        content_hash = hashlib.blake2b(item.path.encode(), digest_size=16).hexdigest()
        batch.contents.append(ContentWrite(content_hash, "JPEG", 640, 480, "RGB", vector, None))
        batch.assets.append((FileWrite(item.path, str(root), item.size, item.mtime_ns), content_hash))
        if len(batch.assets) >= 20_000:
            library.catalog.commit_batch(batch)
            batch = Batch()
    library.catalog.commit_batch(batch)
    return library


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=100_000)
    args = parser.parse_args()
    root = CACHE / f"unchanged-{args.files}"
    make_tree(root, args.files)
    encoder = load_encoder("offline")
    with tempfile.TemporaryDirectory() as tmp:
        library = make_catalog(Path(tmp) / "lib", root, encoder.model_id, encoder.dim)
        IndexRun(library, encoder).run([root])  # first run writes the FAISS snapshot
        floor = timed(lambda: sum(1 for _ in walk(root)))

        def rehash() -> None:
            for item in walk(root):
                with open(item.path, "rb") as handle:
                    content_hash(handle.read())

        rehash_s = timed(rehash)

        def per_file_lookup() -> None:
            db = library.catalog.db
            for item in walk(root):
                row = db.execute("SELECT size, mtime_ns FROM assets WHERE path = ?", [item.path]).fetchone()
                assert row == (item.size, item.mtime_ns)

        lookup_s = timed(per_file_lookup)
        results = []
        scout_s = timed(lambda: results.append(IndexRun(library, encoder).run([root])))
        stats = results[0].stats
        assert stats.unchanged == args.files and stats.embedded == 0, stats
    print(f"{args.files:,} unchanged files in 500 folders")
    print(f"  walk+stat floor   {floor:6.2f} s")
    print(f"  per-file lookup   {lookup_s:6.2f} s")
    print(f"  rehash (tiny)     {rehash_s:6.2f} s")
    print(f"  scout index       {scout_s:6.2f} s  ({lookup_s / scout_s:.1f}x faster than per-file lookups, "
          f"{scout_s / floor:.1f}x the walk floor)")


if __name__ == "__main__":
    main()
