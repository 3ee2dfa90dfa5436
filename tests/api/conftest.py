"""A real uvicorn server on a free loopback port, serving an app built for a temp library."""

from __future__ import annotations

import shutil
import socket
import threading
import time

import httpx
import pytest
import uvicorn

from api.app import create_app
from api.deps import ServerSettings
from tests.conftest import SAMPLE_PHOTOS, index_folder


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    def __init__(self, app):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.app = app

    def __enter__(self) -> "LiveServer":
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(10)

    def client(self, **kw) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=60, **kw)


@pytest.fixture(scope="session")
def photo_library(tmp_path_factory, offline_encoder):
    """A writable library over a copy of sample_assets/photos, plus an image outside its root."""
    base = tmp_path_factory.mktemp("http")
    root = base / "photos"
    shutil.copytree(SAMPLE_PHOTOS, root)
    outside = base / "outside"
    outside.mkdir()
    shutil.copy(SAMPLE_PHOTOS / "pink-flower-closeup.jpg", outside / "secret.jpg")
    library, _ = index_folder(base / "lib", [root], offline_encoder)
    library.close()
    return base / "lib", root


@pytest.fixture(scope="session")
def live(photo_library, offline_encoder):
    library, _ = photo_library
    with LiveServer(create_app(library, offline_encoder, ServerSettings())) as server:
        yield server


def serve(library, encoder, **settings) -> LiveServer:
    return LiveServer(create_app(library, encoder, ServerSettings(**settings)))
