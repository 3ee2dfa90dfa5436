"""The holes of issue 13, each reproduced against a real uvicorn server and shown closed."""

from __future__ import annotations

import socket
import time

import pytest

from tests.api.conftest import serve
from tests.conftest import SAMPLE_PHOTOS

BIG = str(2**63)
NEG = str(-(2**63) - 1)


def assert_json_error(response, status):
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) >= {"error", "hint"} and body["error"]
    return body


@pytest.mark.parametrize("like", ["/etc/passwd", "/etc/shadow", "/proc/self/mem", "../photos/x.jpg",
                                  BIG, "18446744073709551616", "²", "0"])
def test_like_never_names_a_file_or_an_overflowing_id(live, like):
    body = assert_json_error(live.client().get("/api/search", params={"like": like}), 400)
    assert "not an asset id" in body["error"]


def test_like_an_image_outside_the_library_is_refused_not_embedded(live, photo_library):
    _, root = photo_library
    secret = root.parent / "outside" / "secret.jpg"
    missing = root.parent / "outside" / "missing.jpg"
    answers = [live.client().get("/api/search", params={"like": str(p)}) for p in (secret, missing)]
    # The same answer whether or not the file exists: no existence oracle either.
    assert [a.status_code for a in answers] == [400, 400]
    assert answers[0].json()["error"].replace(str(secret), "") == answers[1].json()["error"].replace(str(missing), "")


@pytest.mark.parametrize("suffix", ["", "/similar", "/thumbnail", "/preview", "/original"])
@pytest.mark.parametrize("asset_id", [BIG, NEG, "0", "-1", "²", "1e3"])
def test_asset_ids_out_of_range_are_422_json(live, suffix, asset_id):
    assert_json_error(live.client().get(f"/api/assets/{asset_id}{suffix}"), 422)


def test_foreign_host_names_are_refused_on_loopback(live):
    client = live.client()
    for method, path in (("GET", "/"), ("GET", "/api/search?q=cat"), ("POST", "/api/index-jobs")):
        response = client.request(method, path, headers={"Host": "evil.example"}, json={"paths": ["/"]})
        body = assert_json_error(response, 400)
        assert "evil.example" in body["error"] and "--allow-host" in body["hint"]
    assert client.get("/api/status", headers={"Host": "localhost:8000"}).status_code == 200


def test_allowed_host_names_are_served(photo_library, offline_encoder):
    library, _ = photo_library
    with serve(library, offline_encoder, allowed_hosts=("scout.agency.internal",)) as server:
        client = server.client()
        assert client.get("/api/status", headers={"Host": "scout.agency.internal"}).status_code == 200
        assert client.get("/api/status", headers={"Host": "evil.example"}).status_code == 400


@pytest.mark.parametrize("headers", [
    {"Origin": "http://evil.example"},
    {"Origin": "null"},
    {"Sec-Fetch-Site": "cross-site"},
])
def test_cross_site_requests_to_the_api_are_refused_before_any_work(live, headers):
    client = live.client()
    cat = (SAMPLE_PHOTOS / "tabby-cat-chelsea.png").read_bytes()
    upload = client.post("/api/examples", files={"file": ("cat.png", cat)}, headers=headers)
    assert_json_error(upload, 403)
    assert_json_error(client.post("/api/index-jobs", json={"paths": ["/"]}, headers=headers), 403)


def test_the_servers_own_page_may_call_its_api(live):
    headers = {"Origin": live.url, "Sec-Fetch-Site": "same-origin"}
    cat = (SAMPLE_PHOTOS / "tabby-cat-chelsea.png").read_bytes()
    response = live.client().post("/api/examples", files={"file": ("cat.png", cat)}, headers=headers)
    assert response.status_code == 200 and response.json()["example_id"].startswith("ex-")


def test_chunked_upload_without_length_is_cut_off_at_the_limit(photo_library, offline_encoder):
    """Bytes are counted as they arrive: the 413 comes after about the limit, not after the
    whole (here 64 MB) body has been spooled to disk."""
    library, _ = photo_library
    limit = 300_000
    with serve(library, offline_encoder, max_upload_bytes=limit) as server:
        sock = socket.create_connection(("127.0.0.1", server.port))
        boundary = "scoutboundary"
        sock.sendall((
            "POST /api/examples HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\n\r\n").encode())
        preamble = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.png\"\r\n"
                    "Content-Type: image/png\r\n\r\n").encode()
        chunk = preamble + b"\0" * (64 * 1024 - len(preamble))
        sent, answer = 0, b""
        sock.settimeout(0.05)
        deadline = time.monotonic() + 60
        while sent < 64 * 1024 * 1024 and time.monotonic() < deadline:
            try:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
                chunk = b"\0" * len(chunk)
                answer += sock.recv(65536)
            except (TimeoutError, socket.timeout):
                continue
            except (BrokenPipeError, ConnectionResetError):
                break
            if answer:
                break
        sock.settimeout(5)
        try:
            answer += sock.recv(65536)
        except OSError:
            pass
        sock.close()
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        assert b"larger than" in answer
        assert sent < 8 * limit + 4 * 1024 * 1024, f"{sent} bytes went in before the 413"


def test_wrong_methods_and_unknown_api_paths_are_json(live):
    client = live.client()
    response = client.delete("/api/search")
    assert_json_error(response, 405)
    assert "GET" in response.headers["allow"]
    assert_json_error(client.get("/api/no-such-thing"), 404)
    assert_json_error(client.post("/api/assets/1/original"), 405)


def test_malformed_json_bodies_are_json_errors(photo_library, offline_encoder):
    library, _ = photo_library
    with serve(library, offline_encoder, token="t") as server:
        response = server.client().post("/api/index-jobs", content=b"{not json",
                                         headers={"X-Scout-Token": "t", "Content-Type": "application/json"})
        assert_json_error(response, 422)


def test_every_operation_documents_its_errors(live):
    spec = live.client().get("/openapi.json").json()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            documented = set(operation["responses"])
            assert {"400", "404", "500"} <= documented, (method, path, documented)
            assert {"401", "403", "413", "415"} <= documented, (method, path, documented)
