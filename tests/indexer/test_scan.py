from __future__ import annotations

import os

from indexer.scan import ScannedFile, ScanProblem, sniff_format, walk


def _files(root):
    return sorted(os.path.relpath(i.path, root) for i in walk(root) if isinstance(i, ScannedFile))


def test_walk_skips_hidden_folders_and_files(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.jpg").write_bytes(b"1")
    (tmp_path / ".cache").mkdir()
    (tmp_path / ".cache" / "y.jpg").write_bytes(b"2")
    (tmp_path / ".hidden.jpg").write_bytes(b"3")
    assert _files(tmp_path) == ["a/x.jpg"]


def test_symlink_loops_terminate_and_visit_each_folder_once(tmp_path):
    (tmp_path / "shoot").mkdir()
    (tmp_path / "shoot" / "p.jpg").write_bytes(b"1")
    os.symlink(tmp_path, tmp_path / "shoot" / "loop")  # points back up
    os.symlink(tmp_path / "shoot", tmp_path / "alias")  # a second way into the same folder
    files = _files(tmp_path)
    assert len(files) == 1 and files[0].endswith("p.jpg")


def test_broken_symlink_is_reported_not_raised(tmp_path):
    os.symlink(tmp_path / "gone.jpg", tmp_path / "link.jpg")
    items = list(walk(tmp_path))
    assert [type(i) for i in items] == [ScanProblem]
    assert items[0].reason == "broken_link"


def test_sniff_recognises_containers_by_content():
    assert sniff_format(b"\xff\xd8\xff\xe0rest") == "JPEG"
    assert sniff_format(b"\x89PNG\r\n\x1a\n....") == "PNG"
    assert sniff_format(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "WEBP"
    assert sniff_format(b"\x00\x00\x00\x18ftypheic") == "HEIF"
    assert sniff_format(b"II*\x00\x08\x00") == "TIFF"
    assert sniff_format(b"P6\n12 12\n255\n") == "PNM"
    assert sniff_format(b"hello world, plain text") is None
