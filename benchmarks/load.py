"""Load on a real `scout serve`: many concurrent clients, a realistic request mix, and an index
run adding assets while they search.

    python -m benchmarks.load                       # 3,000 images, 50 clients, 5,000 requests
    python -m benchmarks.load --images 500 --add 200 --requests 1000   # a quick look

A library of generated images (gradients and blocks, 128x96 JPEG) is indexed once with the
offline model and cached under ``.scout/load-bench/`` (reruns start in seconds); each run works on
a fresh copy of it. The server is ``python -m api.cli serve`` in its own process on a free
loopback port, exactly what a user starts. Phases, each bounded by a request count and a time
limit:

  baseline   the same request mix from 1 client (what one request costs with no contention)
  status     50 clients on GET /api/status (the server's overhead without search work)
  idle       50 clients, the mix: new texts, repeated texts, pages 2-3, similar, thumbnails
  indexing   the same, while `scout index` (another process) adds ``--add`` new images

``--per-kind`` instead runs each kind of request alone from 1 client and from ``--clients``.

Reported per phase: requests, errors (any non-2xx or transport error), throughput, p50/p95/p99
latency, and the server's resident memory before and after. Only loopback addresses are used.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np

from tests.conftest import pattern_image  # the test suite's distinct generated pictures

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / ".scout" / "load-bench"
ADJECTIVES = ["red", "old", "sunlit", "quiet", "busy", "tiny", "golden", "snowy", "vintage", "modern", "wet",
              "bright", "dark", "wooden", "glass", "striped", "spotted", "empty", "crowded", "misty"]
NOUNS = ["car", "dog", "cup of coffee", "bicycle", "harbour", "mountain", "cat", "bridge", "bowl of soup",
         "laptop", "guitar", "forest", "train", "lighthouse", "pizza", "umbrella", "sofa", "clock", "boat", "tree"]
PLACES = ["at night", "in the rain", "on a table", "by the sea", "in a city", "in autumn", "at dawn",
          "in a studio", "on grass", "in snow"]
REPEATED = [f"{a} {n}" for a, n in zip(ADJECTIVES, NOUNS)]  # 20 texts every client keeps asking for
MIX = {"new_text": 0.30, "repeated_text": 0.30, "page": 0.15, "similar": 0.10, "thumbnail": 0.15}


def write_folder(folder: Path, count: int, start: int) -> None:
    marker = folder / f".complete-{count}"
    if marker.exists():
        return
    for seed in range(start, start + count):
        path = folder / f"shoot-{seed // 250:03d}" / f"img-{seed:06d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        pattern_image(seed, (128, 96)).save(path, "JPEG", quality=85)
    marker.touch()


def scout(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "api.cli", *args], cwd=REPO, check=True, **kw)


def base_library(images: int) -> Path:
    """The cached, fully indexed library of ``images`` generated pictures."""
    photos, library = CACHE / f"photos-{images}", CACHE / f"library-{images}"
    write_folder(photos, images, 0)
    if not (library / ".complete").exists():
        started = time.monotonic()
        scout("index", str(photos), "--library", str(library), "--model", "offline")
        (library / ".complete").write_text(f"{time.monotonic() - started:.0f} s\n")
    return library


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class Server:
    def __init__(self, library: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve", "--library", str(library), "--port", str(self.port)],
            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 300
        while True:
            if self.process.poll() is not None:
                raise SystemExit(f"scout serve exited: {self.process.stderr.read().decode()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/api/status", timeout=5).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("scout serve did not answer within 300 s")
            time.sleep(0.2)

    @property
    def rss(self) -> float:
        return rss_mb(self.process.pid)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()


@dataclass
class Phase:
    name: str
    clients: int
    latencies: list[float] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    kinds: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    rss_before: float = 0.0
    rss_after: float = 0.0
    note: str = ""

    def summary(self) -> dict:
        ms = np.array(self.latencies) * 1e3 if self.latencies else np.array([float("nan")])
        return {
            "phase": self.name, "clients": self.clients, "requests": len(self.latencies),
            "errors": sum(self.errors.values()), "error_kinds": dict(self.errors),
            "req_per_s": round(len(self.latencies) / self.seconds, 1) if self.seconds else 0.0,
            "p50_ms": round(float(np.percentile(ms, 50)), 1), "p95_ms": round(float(np.percentile(ms, 95)), 1),
            "p99_ms": round(float(np.percentile(ms, 99)), 1),
            "rss_before_mb": round(self.rss_before), "rss_after_mb": round(self.rss_after),
            "mix": dict(self.kinds), "note": self.note,
        }


def request_plan(count: int, seed: int, asset_ids: list[int], mix: dict[str, float]) -> list[tuple[str, str, dict]]:
    """``count`` (kind, path, params) requests drawn with ``mix`` proportions, reproducibly."""
    rng = random.Random(seed)
    kinds, weights = zip(*mix.items())
    plan = []
    for i in range(count):
        kind = rng.choices(kinds, weights)[0]
        if kind == "new_text":  # a text nobody asked before in this run: the model runs
            text = f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} {rng.choice(PLACES)} #{seed}-{i}"
            plan.append((kind, "/api/search", {"q": text, "limit": 40}))
        elif kind == "repeated_text":
            plan.append((kind, "/api/search", {"q": rng.choice(REPEATED), "limit": 40}))
        elif kind == "page":
            plan.append((kind, "/api/search", {"q": rng.choice(REPEATED), "limit": 40,
                                               "offset": rng.choice([40, 80]), "all": "true"}))
        elif kind == "similar":
            plan.append((kind, f"/api/assets/{rng.choice(asset_ids)}/similar", {"limit": 40}))
        elif kind == "status":
            plan.append((kind, "/api/status", {}))
        else:
            plan.append((kind, f"/api/assets/{rng.choice(asset_ids)}/thumbnail", {}))
    return plan


def run_phase(phase: Phase, server: Server, plan: list[tuple[str, str, dict]], max_seconds: float) -> Phase:
    """``phase.clients`` threads, each with its own connection, share ``plan`` until it is done or
    ``max_seconds`` have passed."""
    lock = threading.Lock()
    position = iter(range(len(plan)))
    deadline = time.monotonic() + max_seconds

    def client() -> None:
        with httpx.Client(base_url=server.url, timeout=120) as http:
            while time.monotonic() < deadline:
                with lock:
                    index = next(position, None)
                if index is None:
                    return
                kind, path, params = plan[index]
                started = time.perf_counter()
                try:
                    response = http.get(path, params=params)
                    response.read()
                    failed = None if response.is_success else str(response.status_code)
                except httpx.HTTPError as exc:
                    failed = type(exc).__name__
                elapsed = time.perf_counter() - started
                with lock:
                    phase.latencies.append(elapsed)
                    phase.kinds[kind] += 1
                    if failed:
                        phase.errors[f"{kind}:{failed}"] += 1

    phase.rss_before = server.rss
    threads = [threading.Thread(target=client, daemon=True) for _ in range(phase.clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    phase.seconds = time.monotonic() - started
    phase.rss_after = server.rss
    return phase


def asset_count(server: Server) -> int:
    return httpx.get(f"{server.url}/api/status", timeout=60).json()["assets"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=3000, help="library size (cached)")
    parser.add_argument("--add", type=int, default=1000, help="images the concurrent index run adds")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=5000, help="per 50-client phase")
    parser.add_argument("--baseline-requests", type=int, default=300, help="for the 1-client phase")
    parser.add_argument("--max-seconds", type=float, default=900, help="time limit per phase")
    parser.add_argument("--json", type=Path, default=CACHE / "results.json")
    parser.add_argument("--per-kind", action="store_true",
                        help="instead: each request kind alone, 1 client then --clients, 200 requests each")
    args = parser.parse_args()
    if args.per_kind:
        per_kind(args)
        return

    CACHE.mkdir(parents=True, exist_ok=True)
    base = base_library(args.images)
    extra = CACHE / f"extra-{args.add}"
    write_folder(extra, args.add, 10_000_000)
    work = CACHE / "work-library"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(base, work)

    server = Server(work)
    phases: list[Phase] = []
    try:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            hits = http.get("/api/search", params={"q": "a picture", "all": "true", "limit": 200}).json()["results"]
        ids = [hit["asset"]["id"] for hit in hits] or [1]
        rss_start = server.rss
        phases.append(run_phase(Phase("baseline", 1), server,
                                request_plan(args.baseline_requests, 1, ids, MIX), args.max_seconds))
        phases.append(run_phase(Phase("status", args.clients), server,
                                request_plan(min(args.requests, 2000), 2, ids, {"status": 1.0}), args.max_seconds))
        phases.append(run_phase(Phase("idle", args.clients), server,
                                request_plan(args.requests, 3, ids, MIX), args.max_seconds))

        before = asset_count(server)
        indexer = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "index", str(extra), "--library", str(work), "--model", "offline"],
            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_until = time.monotonic() + args.max_seconds  # start the clients once it is writing
        while asset_count(server) == before and indexer.poll() is None and time.monotonic() < wait_until:
            time.sleep(0.5)
        indexing = Phase("indexing", args.clients)
        run_phase(indexing, server, request_plan(args.requests, 4, ids, MIX), args.max_seconds)
        during = asset_count(server) - before
        indexer.wait()
        after = asset_count(server) - before
        indexing.note = (f"index run added {during} assets while this phase ran, {after} in all "
                         f"(exit {indexer.returncode})")
        phases.append(indexing)
        rss_end = server.rss
    finally:
        server.stop()

    results = {
        "command": " ".join(["python -m benchmarks.load", *sys.argv[1:]]),
        "machine": f"{os.cpu_count()} CPUs, {platform_name()}",
        "library_assets": args.images, "server_rss_start_mb": round(rss_start), "server_rss_end_mb": round(rss_end),
        "phases": [p.summary() for p in phases],
    }
    args.json.write_text(json.dumps(results, indent=2))
    print(f"{results['command']}  ({results['machine']}, library {args.images} assets)")
    print(f"{'phase':<10}{'clients':>8}{'requests':>10}{'errors':>8}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}"
          f"{'p99 ms':>9}{'RSS MB before->after':>24}")
    for p in results["phases"]:
        print(f"{p['phase']:<10}{p['clients']:>8}{p['requests']:>10}{p['errors']:>8}{p['req_per_s']:>8}"
              f"{p['p50_ms']:>9}{p['p95_ms']:>9}{p['p99_ms']:>9}{p['rss_before_mb']:>14} -> {p['rss_after_mb']}")
        if p["error_kinds"]:
            print(f"{'':<10}errors: {p['error_kinds']}")
        if p["note"]:
            print(f"{'':<10}{p['note']}")
    print(f"server RSS: {results['server_rss_start_mb']} MB at start, {results['server_rss_end_mb']} MB at the end")


def per_kind(args) -> None:
    """Where concurrency costs: each kind of request alone, from 1 client and from many, on the
    cached library (no index run)."""
    server = Server(base_library(args.images))
    try:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            hits = http.get("/api/search", params={"q": "a picture", "all": "true", "limit": 200}).json()["results"]
        ids = [hit["asset"]["id"] for hit in hits] or [1]
        print(f"python -m benchmarks.load --per-kind  (library {args.images} assets)")
        print(f"{'kind':<15}{'clients':>8}{'requests':>10}{'errors':>8}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}")
        for kind in ("repeated_text", "new_text", "similar", "thumbnail", "status"):
            for clients, count in ((1, 40), (args.clients, 200)):
                p = run_phase(Phase(kind, clients), server, request_plan(count, 5, ids, {kind: 1.0}),
                              args.max_seconds).summary()
                print(f"{kind:<15}{clients:>8}{p['requests']:>10}{p['errors']:>8}{p['req_per_s']:>8}"
                      f"{p['p50_ms']:>9}{p['p99_ms']:>9}", flush=True)
    finally:
        server.stop()


def platform_name() -> str:
    import platform

    return f"{platform.machine()} {platform.processor() or platform.system()}, Python {platform.python_version()}"


if __name__ == "__main__":
    main()
