"""Embedded metadata: EXIF, IPTC and XMP written into real JPEGs by exiv2 (pyexiv2), read back by
an index run's metadata pass, stored, searchable by keyword and usable as filters."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone

import pyexiv2
import pytest

from indexer.metadata import MetadataPass, judge_rights, license_end, parse_datetime
from indexer.passes import run_pass
from search.query import Filters
from tests.conftest import index_folder, pattern_image

PARIS = {
    "exif": {
        "Exif.Image.Make": "Canon", "Exif.Image.Model": "Canon EOS R5",
        "Exif.Photo.DateTimeOriginal": "2021:06:05 14:30:00", "Exif.Photo.OffsetTimeOriginal": "+02:00",
        "Exif.Photo.LensModel": "RF24-70mm F2.8 L IS USM",
        "Exif.GPSInfo.GPSLatitudeRef": "N", "Exif.GPSInfo.GPSLatitude": "48/1 51/1 2964/100",
        "Exif.GPSInfo.GPSLongitudeRef": "W", "Exif.GPSInfo.GPSLongitude": "2/1 17/1 4020/100",
    },
    "iptc": {"Iptc.Application2.Keywords": ["Paris", "tower"], "Iptc.Application2.Byline": ["Ana López"]},
    "xmp": {
        "Xmp.dc.subject": ["paris", "Eiffel tower", "dusk"],
        "Xmp.dc.title": {'lang="x-default"': "Eiffel tower at dusk"},
        "Xmp.dc.description": {'lang="x-default"': "The tower lit up over the Seine"},
        "Xmp.dc.creator": ["Ana López"], "Xmp.dc.rights": {'lang="x-default"': "© 2021 Ana López"},
        "Xmp.xmpRights.UsageTerms": {'lang="x-default"': "Editorial use only"}, "Xmp.xmp.Rating": "4",
    },
}


def write_photo(path, seed: int, exif=None, iptc=None, xmp=None):
    pattern_image(seed, (120, 80)).save(path, "JPEG", quality=90)
    with pyexiv2.Image(str(path)) as image:
        if exif:
            image.modify_exif(exif)
        if iptc:
            image.modify_iptc(iptc)
        if xmp:
            image.modify_xmp(xmp)
    return path


@pytest.fixture()
def meta_library(tmp_path, tiny_encoder):
    photos = tmp_path / "photos"
    photos.mkdir()
    write_photo(photos / "paris.jpg", 1, **PARIS)
    write_photo(photos / "expired.jpg", 2, exif={"Exif.Image.Make": "NIKON CORPORATION", "Exif.Image.Model": "NIKON D850",
                                                  "Exif.Photo.DateTimeOriginal": "2019:01:02 08:00:00"},
                xmp={"Xmp.plus.LicenseEndDate": "2020-12-31", "Xmp.dc.subject": ["winter"]})
    write_photo(photos / "restricted.jpg", 3, xmp={"Xmp.dc.subject": ["beach", "Restricted"]})
    write_photo(photos / "later.jpg", 4, xmp={"Xmp.xmpRights.UsageTerms": {'lang="x-default"': "Licence expires 2030-03-01"}})
    pattern_image(5).save(photos / "plain.png")
    library, result = index_folder(tmp_path / "lib", [photos], tiny_encoder, passes=[MetadataPass()])
    return library, photos, result


def _meta(library, photos, name):
    return library.catalog.media_for_hash(library.catalog.asset_by_path(str(photos / name)).hash)


def test_exif_iptc_and_xmp_fields_are_read_from_real_files(meta_library):
    library, photos, result = meta_library
    assert {s.name: s.done for s in result.passes} == {"metadata": 5}
    paris = _meta(library, photos, "paris.jpg")
    assert paris.captured_at == datetime(2021, 6, 5, 12, 30, tzinfo=timezone.utc).timestamp()  # +02:00 honoured
    assert paris.camera == "Canon EOS R5" and paris.lens == "RF24-70mm F2.8 L IS USM"
    assert paris.has_gps and paris.latitude == pytest.approx(48.8582, abs=1e-4)
    assert paris.longitude == pytest.approx(-2.2945, abs=1e-4)  # W is negative
    assert paris.title == "Eiffel tower at dusk" and paris.description == "The tower lit up over the Seine"
    assert paris.keywords == ("paris", "Eiffel tower", "dusk", "tower")  # XMP first, IPTC's new one after
    assert paris.creator == "Ana López" and paris.copyright == "© 2021 Ana López"
    assert paris.usage_terms == "Editorial use only" and paris.rights is None  # editorial is not restricted
    assert paris.rating == 4
    assert paris.fields["Exif.Image.Model"] == "Canon EOS R5"
    nikon = _meta(library, photos, "expired.jpg")
    assert nikon.camera == "NIKON D850"  # the model already names the make: not "NIKON CORPORATION NIKON D850"
    assert nikon.captured_at == datetime(2019, 1, 2, 8, tzinfo=timezone.utc).timestamp()  # no offset: UTC
    plain = _meta(library, photos, "plain.png")
    assert plain is not None and plain.error is None and plain.camera is None and not plain.has_gps


def test_rights_expired_restricted_and_a_future_end_judged_when_read(meta_library):
    library, photos, _ = meta_library
    assert _meta(library, photos, "expired.jpg").rights == "expired"
    assert _meta(library, photos, "restricted.jpg").rights == "restricted"
    later = _meta(library, photos, "later.jpg")
    assert later.rights is None
    after_the_end = datetime(2030, 3, 2, tzinfo=timezone.utc).timestamp()
    assert library.catalog.media_for_hashes([later.hash], now=after_the_end)[later.hash].rights == "expired"
    flagged = library.catalog.flagged_hashes()
    assert {library.catalog.asset_by_path(str(photos / n)).hash for n in ("expired.jpg", "restricted.jpg")} == flagged


def test_metadata_filters_select_by_capture_date_camera_gps_and_rights(meta_library):
    library, photos, _ = meta_library

    def names(**filters):
        where, params = Filters(**filters).sql()
        ids = library.catalog.matching_ids(where, params)
        return sorted(library.catalog.asset(int(i)).name for i in ids)

    june = datetime(2021, 6, 1, tzinfo=timezone.utc).timestamp()
    july = datetime(2021, 7, 1, tzinfo=timezone.utc).timestamp()
    assert names(captured_from=june, captured_to=july) == ["paris.jpg"]
    assert names(captured_to=june) == ["expired.jpg"]
    assert names(camera="eos") == ["paris.jpg"] and names(camera="nikon d850") == ["expired.jpg"]
    assert names(has_gps=True) == ["paris.jpg"]
    assert names(has_gps=False) == ["expired.jpg", "later.jpg", "plain.png", "restricted.jpg"]
    assert names(exclude_flagged=True) == ["later.jpg", "paris.jpg", "plain.png"]


def test_embedded_keywords_reach_the_keyword_index(meta_library):
    library, photos, _ = meta_library
    rows = library.catalog.db.execute(
        "SELECT a.name FROM asset_words w JOIN assets a ON a.id = w.rowid WHERE asset_words MATCH ?",
        ["keywords:eiffel"]).fetchall()
    assert rows == [("paris.jpg",)]


def test_the_pass_is_incremental_and_a_new_reader_version_reads_again(meta_library):
    library, photos, _ = meta_library
    assert run_pass(library, MetadataPass()).total == 0
    again = MetadataPass()
    again.version += "-next"
    assert run_pass(library, again).done == 5


def test_a_file_exiv2_cannot_read_is_recorded_not_retried(tmp_path, tiny_encoder):
    photos = tmp_path / "photos"
    photos.mkdir()
    good = write_photo(photos / "a.jpg", 1)
    data = bytearray(good.read_bytes())
    # An APP1 segment claiming to be EXIF but holding garbage: Pillow still decodes the pixels.
    broken = data[:2] + b"\xff\xe1\x00\x10Exif\x00\x00MM\x00\x2a\xff\xff\xff\xff" + data[2:]
    (photos / "b.jpg").write_bytes(bytes(broken))
    library, result = index_folder(tmp_path / "lib", [photos], tiny_encoder, passes=[MetadataPass()])
    stats = result.passes[0]
    assert stats.done == 2
    b = _meta(library, photos, "b.jpg")
    assert b.error == "RuntimeError: This does not look like a TIFF image" and b.camera is None
    assert stats.failed == 1 and _meta(library, photos, "a.jpg").error is None
    assert run_pass(library, MetadataPass()).total == 0  # recorded: not read again


def test_rules_for_dates_and_rights():
    assert parse_datetime("2021:06:05 14:30:00", "-05:00") == datetime(2021, 6, 5, 19, 30, tzinfo=timezone.utc).timestamp()
    assert parse_datetime("2021-06-05T14:30:00Z") == datetime(2021, 6, 5, 14, 30, tzinfo=timezone.utc).timestamp()
    assert parse_datetime("0000:00:00 00:00:00") is None and parse_datetime("garbage") is None
    ends = license_end({}, "Valid until 31 January 2024, web only")
    assert ends == datetime(2024, 1, 31, 23, 59, 59, tzinfo=timezone.utc).timestamp()
    now = datetime(2025, 1, 1, tzinfo=timezone.utc).timestamp()
    assert judge_rights((), "Do not use after the campaign", None, now) == "restricted"
    assert judge_rights((), "Not for commercial use", None, now) == "restricted"
    assert judge_rights((), "Editorial use only", ends, now) == "expired"
    assert judge_rights(("do-not-use",), None, None, now) == "restricted"
    assert judge_rights((), "Royalty free", None, now) is None
    assert MetadataPass(today=date(2020, 1, 1)).version == MetadataPass().version


def test_fields_hold_text_only_and_stay_bounded(meta_library):
    library, photos, _ = meta_library
    raw = library.catalog.db.execute("SELECT fields FROM media_meta WHERE fields IS NOT NULL").fetchall()
    for (text,) in raw:
        fields = json.loads(text)
        assert len(fields) <= 401 and all(isinstance(v, (str, float, int)) for v in fields.values())


def test_the_brief_pipeline_never_pools_expired_or_restricted_assets(meta_library):
    from generation.retrieve import RetrieveSettings

    library, photos, _ = meta_library
    where, params = RetrieveSettings(filters=Filters(folder=str(photos))).effective_filters().sql()
    pooled = sorted(library.catalog.asset(int(i)).name for i in library.catalog.matching_ids(where, params))
    assert pooled == ["later.jpg", "paris.jpg", "plain.png"]
