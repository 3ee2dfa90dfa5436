"""Hostile files against this session's content passes and sidecar writer: metadata a
photographer (or an attacker) embedded, sidecars that are links, folders, read-only or bombs,
and images built to make OCR allocate without bound. Real files, real exiv2, real rapidocr."""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import sys
import textwrap
from datetime import datetime, timezone

import pyexiv2
import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from indexer.metadata import MetadataPass
from indexer.passes import PassInput
from indexer.sidecars import SidecarError, Subjects, sidecar_path, write_sidecar
from tests.conftest import index_folder, pattern_image

KEEP = {"Xmp.dc.title": {'lang="x-default"': "Keep me"}}
DARKTABLE = ('<?xml version="1.0" encoding="UTF-8"?>\n<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
             'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
             'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:subject><rdf:Bag><rdf:li>client-acme</rdf:li>'
             '</rdf:Bag></dc:subject></rdf:Description></rdf:RDF></x:xmpmeta>\n')
LAUGHS = '<!DOCTYPE x [<!ENTITY a0 "lol">' + "".join(
    f'<!ENTITY a{i} "{("&a%d;" % (i - 1)) * 10}">' for i in range(1, 10)) + "]>"


def jpeg(path, exif=None, xmp=None):
    pattern_image(1, (64, 48)).save(path, "JPEG")
    with pyexiv2.Image(str(path)) as image:
        if exif:
            image.modify_exif(exif)
        if xmp:
            image.modify_xmp(xmp)
    return path


def png_with_xmp(path, packet: str, seed: int = 1):
    """A PNG carrying ``packet`` verbatim in its iTXt XMP chunk (exiv2 refuses to write such
    packets, an attacker's tool does not; PNG also has no 64 KB segment limit)."""
    info = PngInfo()
    info.add_itxt("XML:com.adobe.xmp", packet)
    pattern_image(seed, (64, 48)).save(path, "PNG", pnginfo=info)
    return path


def packet(body: str, doctype: str = "") -> str:
    return (doctype + '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-'
            'syntax-ns#"><rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">' + body +
            "</rdf:Description></rdf:RDF></x:xmpmeta>")


def title(text: str) -> str:
    return f'<dc:title><rdf:Alt><rdf:li xml:lang="x-default">{text}</rdf:li></rdf:Alt></dc:title>'


def read(path):
    return MetadataPass().process(PassInput("h", str(path), path.read_bytes()))


# -- embedded metadata ---------------------------------------------------------------------------

@pytest.mark.parametrize("rating", ["1e999", "-1e999", "nan", "inf", "five"])
def test_a_rating_that_is_not_a_number_loses_no_other_field(tmp_path, rating):
    meta = read(jpeg(tmp_path / "r.jpg", xmp={**KEEP, "Xmp.xmp.Rating": rating}))
    assert meta.title == "Keep me" and meta.rating is None


@pytest.mark.parametrize("offset", ["+99:99", "-24:00", "+23:60", "+9999"])
def test_an_impossible_time_offset_is_ignored_not_fatal(tmp_path, offset):
    meta = read(jpeg(tmp_path / "o.jpg", xmp=KEEP, exif={
        "Exif.Photo.DateTimeOriginal": "2021:06:05 14:30:00", "Exif.Photo.OffsetTimeOriginal": offset}))
    assert meta.title == "Keep me"
    assert meta.captured_at == datetime(2021, 6, 5, 14, 30, tzinfo=timezone.utc).timestamp()


@pytest.mark.parametrize("when", ["0000-00-00T00:00:00", "99999-01-01T00:00:00", "2021-13-45T00:00:00",
                                  "2021-06-05T14:30:00+99:99"])
def test_impossible_dates_leave_the_capture_time_empty(tmp_path, when):
    meta = read(jpeg(tmp_path / "d.jpg", xmp={**KEEP, "Xmp.xmp.CreateDate": when}))
    assert meta.title == "Keep me" and meta.captured_at is None


def test_out_of_range_gps_is_no_position(tmp_path):
    meta = read(jpeg(tmp_path / "g.jpg", xmp=KEEP, exif={
        "Exif.GPSInfo.GPSLatitudeRef": "N", "Exif.GPSInfo.GPSLatitude": "91/1 0/1 0/1",
        "Exif.GPSInfo.GPSLongitudeRef": "E", "Exif.GPSInfo.GPSLongitude": "1/0 0/1 0/1"}))
    assert meta.title == "Keep me" and not meta.has_gps and meta.latitude is None


def test_hostile_xmp_packets_are_recorded_as_errors_and_the_run_goes_on(tmp_path, tiny_encoder):
    photos = tmp_path / "photos"
    photos.mkdir()
    png_with_xmp(photos / "laughs.png", packet(title("&a9;"), LAUGHS), seed=1)
    png_with_xmp(photos / "external.png", packet(title("&x;"), '<!DOCTYPE x [<!ENTITY x SYSTEM "file:///etc/passwd">]>'),
                 seed=2)
    png_with_xmp(photos / "deep.png", packet("<dc:x>" * 50_000 + "</dc:x>" * 50_000 + title("deep")), seed=3)
    many = "".join(f"<rdf:li>k{i}</rdf:li>" for i in range(50_000))
    png_with_xmp(photos / "many.png", packet(f"<dc:subject><rdf:Bag>{many}</rdf:Bag></dc:subject>" + title("many")), seed=4)
    jpeg(photos / "fine.jpg", xmp=KEEP)
    library, result = index_folder(tmp_path / "lib", [photos], tiny_encoder, passes=[MetadataPass()])
    rows = {name: library.catalog.media_for_hash(library.catalog.asset_by_path(str(photos / name)).hash)
            for name in ("laughs.png", "external.png", "deep.png", "many.png", "fine.jpg")}
    for name in ("laughs.png", "external.png", "deep.png"):
        assert rows[name].error and rows[name].title is None, name
        assert "root:" not in str(rows[name].fields)
    assert rows["many.png"].title == "many" and len(rows["many.png"].keywords) == 200
    assert len(str(rows["many.png"].fields)) < 1_000_000
    assert rows["fine.jpg"].title == "Keep me" and rows["fine.jpg"].error is None
    library.close()


# -- XMP sidecars --------------------------------------------------------------------------------

def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture()
def original(tmp_path):
    path = tmp_path / "lib" / "photo.jpg"
    path.parent.mkdir()
    pattern_image(1).save(path, "JPEG")
    return path


def test_a_sidecar_linked_outside_the_library_is_neither_followed_nor_replaced(tmp_path, original):
    outside = tmp_path / "elsewhere.xmp"
    outside.write_text(DARKTABLE)
    before, photo = _digest(outside), _digest(original)
    os.symlink(outside, sidecar_path(original))
    with pytest.raises(SidecarError, match="symbolic link"):
        write_sidecar(original, Subjects(("beach",)))
    assert sidecar_path(original).is_symlink() and os.readlink(sidecar_path(original)) == str(outside)
    assert _digest(outside) == before and _digest(original) == photo
    assert sorted(p.name for p in original.parent.iterdir()) == ["photo.jpg", "photo.jpg.xmp"]


def test_a_dangling_link_is_refused_too(tmp_path, original):
    os.symlink(tmp_path / "not-yet.xmp", sidecar_path(original))
    with pytest.raises(SidecarError, match="symbolic link"):
        write_sidecar(original, Subjects(("beach",)))
    assert not (tmp_path / "not-yet.xmp").exists()


def test_a_read_only_sidecar_is_left_alone(original):
    sidecar = sidecar_path(original)
    sidecar.write_text(DARKTABLE)
    sidecar.chmod(0o444)
    with pytest.raises(SidecarError, match="read-only"):
        write_sidecar(original, Subjects(("beach",)))
    assert sidecar.read_text() == DARKTABLE and stat.S_IMODE(sidecar.stat().st_mode) == 0o444


def test_sidecars_keep_the_permissions_other_tools_read_them_with(original):
    sidecar = sidecar_path(original)
    sidecar.write_text(DARKTABLE)
    sidecar.chmod(0o664)
    assert write_sidecar(original, Subjects(("beach",))) == "merged"
    assert stat.S_IMODE(sidecar.stat().st_mode) == 0o664
    other = original.with_name("other.jpg")
    pattern_image(2).save(other, "JPEG")
    assert write_sidecar(other, Subjects(("beach",))) == "created"
    umask = int(subprocess.run(["sh", "-c", "umask"], capture_output=True, text=True).stdout, 8)
    assert stat.S_IMODE(sidecar_path(other).stat().st_mode) == 0o666 & ~umask


@pytest.mark.parametrize("content", [
    b"\xff\xfe this is not XML \x00\x01",
    ('<?xml version="1.0"?>' + LAUGHS + DARKTABLE.split("?>", 1)[1].replace("client-acme", "&a9;")).encode(),
    DARKTABLE.replace("client-acme", "caf\xe9").encode("latin-1"),
    b"",
], ids=["binary", "billion-laughs", "latin-1", "empty"])
def test_a_damaged_sidecar_is_an_error_and_stays_as_it_was(original, content):
    sidecar = sidecar_path(original)
    sidecar.write_bytes(content)
    photo = _digest(original)
    try:
        outcome = write_sidecar(original, Subjects(("beach",)))
    except SidecarError:
        assert sidecar.read_bytes() == content
    else:  # exiv2 may read an empty or Latin-1 file as a packet to extend: then it is valid XMP
        assert outcome in ("merged", "created") and b"beach" in sidecar.read_bytes()
    assert _digest(original) == photo
    assert [p.name for p in original.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_a_sidecar_that_is_a_folder_is_refused(original):
    sidecar_path(original).mkdir()
    with pytest.raises(SidecarError):
        write_sidecar(original, Subjects(("beach",)))
    assert sidecar_path(original).is_dir()


# -- OCR -----------------------------------------------------------------------------------------

def test_a_one_pixel_strip_does_not_make_ocr_allocate_gigabytes(tmp_path):
    """A 1x100000 PNG is ~100 bytes. rapidocr scaled its short side to 736 pixels and asked for
    a 7 GiB array: the index run died (MemoryError, or the OOM killer). Run in a child process
    with its address space capped, so the old code fails here instead of taking the machine."""
    strip = tmp_path / "strip.png"
    Image.new("RGB", (1, 100_000), "white").save(strip)
    script = textwrap.dedent(f"""
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (6 << 30, 6 << 30))
        from indexer.ocr import load_ocr_engine
        from indexer.ocr.content_pass import OcrPass
        from indexer.passes import PassInput
        data = open({str(strip)!r}, "rb").read()
        result, _ = OcrPass(load_ocr_engine()).process(PassInput("h", {str(strip)!r}, data))
        print("TEXT", repr(result.text))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600,
                          cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "TEXT ''" in done.stdout
