"""Vector search at archive scale: FAISS index types at 1 M and 10 M vectors.

    python -m benchmarks.vector_scale --smoke                      # 100 k, under a minute
    python -m benchmarks.vector_scale --sizes 1000000,10000000    # the BENCHMARKS.md figures

Why: the catalog can hold millions of assets, and the index type chosen by
``indexer.vectors.choose_factory`` was only measured up to 1 M. This compares, at each size and
in the dimension of the default model (512, ViT-B-32; ``--dim 384`` for the offline model):

  today         ``choose_factory``'s string (IVF-SQ6 above 384 dimensions, IVF-SQ8 at or below)
  grown         today's codes in the 1024 lists chosen when a library first passed the exact
                limit, every later vector patched in (what snapshots did before they were rebuilt
                on growth)
  sq8           ``IVF{n},SQ8``: today's lists with 8-bit codes (one byte a dimension)
  pq64          ``IVF{n},PQ64``: 64 bytes a vector
  pq64+refine   pq64 re-ranked with 8-bit scalar codes of every vector (``IndexRefine``,
                ``--k-factor`` x 10 candidates); the refine codes loaded into RAM or memory-mapped
  today+rerank  today's index searched ``RERANK_DEPTH`` deep, the candidates re-scored with their
                float32 vectors and re-ranked, as ``search.engine.Searcher`` does with the catalog's
                vectors; here the floats are a memory-mapped ``.npy`` file of every vector (the
                catalog's vectors live in SQLite on disk too, so neither is in the process's RAM)
  opq64         ``OPQ64,IVF{n},PQ64`` (a rotation learned before the IVF; only up to
                ``--opq-max``, as it needs its own coarse quantizer and assignment pass)

and for each: build time (train + add, wall and process CPU seconds), index file size,
resident memory of a fresh process that loads it (anonymous and file-backed RSS after the
queries, and the peak), p50/p95 single-query latency with 1 and 2 FAISS threads, and recall@10
against exact search, for several nprobe values. ``+mmap`` rows load the same file with
``faiss.IO_FLAG_MMAP`` (the codes stay in the page cache, which the kernel can evict).

Data: synthetic but clustered like real embeddings, never uniform noise: ``CENTRES`` random
centres on the unit sphere with log-normal cluster sizes (the largest cluster ~60x the median)
and per-cluster spreads, each point a centre plus Gaussian noise, normalised. It is generated in
chunks of ``CHUNK`` vectors from a seeded stream per chunk (``--seed``, default 0), so 10 M x 512
floats (20 GB) never exist at once and any chunk can be regenerated. The ``--queries`` (200)
queries come from the same mixture on a held-out stream; their exact top 10 is computed chunk
by chunk. IVF variants share one coarse quantizer (trained as Scout trains it: FAISS k-means on
``TRAIN_PER_LIST`` x nlist vectors; above ``--fast-above`` vectors a faster two-level stand-in,
see ``prepare``) and one assignment pass; each variant's build time counts those shared steps as
if it had run them itself.

Everything expensive is cached under ``--workdir`` (default ``$TMPDIR/scout-vector-scale``), so a
rerun measures again without rebuilding; delete the folder to rebuild.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np
from faiss.contrib.ivf_tools import add_preassigned

from benchmarks.synthetic import CENTRES
from indexer import vectors
from search.engine import RERANK_DEPTH

CHUNK = 100_000
K = 10


class Mixture:
    """A seeded Gaussian mixture on the unit sphere that yields any chunk on demand."""

    def __init__(self, dim: int, seed: int) -> None:
        self.dim, self.seed = dim, seed
        rng = np.random.default_rng([seed, 0])
        centres = rng.standard_normal((CENTRES, dim), dtype=np.float32)
        self.centres = centres / np.linalg.norm(centres, axis=1, keepdims=True)
        weights = rng.lognormal(0.0, 1.0, CENTRES)
        self.weights = weights / weights.sum()
        self.spread = (rng.uniform(0.7, 1.1, CENTRES) / np.sqrt(dim)).astype(np.float32)

    def _draw(self, rng: np.random.Generator, count: int) -> np.ndarray:
        picks = rng.choice(CENTRES, count, p=self.weights)
        out = rng.standard_normal((count, self.dim), dtype=np.float32)
        out *= self.spread[picks, None]
        out += self.centres[picks]
        out /= np.linalg.norm(out, axis=1, keepdims=True)
        return out

    def chunk(self, number: int, size: int) -> np.ndarray:
        """Vectors ``number * CHUNK`` up to ``min(size, (number + 1) * CHUNK)``."""
        start = number * CHUNK
        return self._draw(np.random.default_rng([self.seed, 1, number]), min(CHUNK, size - start))

    def chunks(self, size: int):
        for number in range((size + CHUNK - 1) // CHUNK):
            yield number * CHUNK, self.chunk(number, size)

    def head(self, count: int, size: int) -> np.ndarray:
        """The first ``count`` vectors of the data: an unbiased sample, as the chunks are i.i.d."""
        parts, have = [], 0
        for _, part in self.chunks(size):
            parts.append(part[: count - have])
            have += len(parts[-1])
            if have >= count:
                break
        return np.concatenate(parts)

    def queries(self, count: int) -> np.ndarray:
        return self._draw(np.random.default_rng([self.seed, 2]), count)


class Clock:
    """Wall and process-CPU seconds of a block (the CPU figure is what sharing cannot inflate)."""

    def __init__(self) -> None:
        self.wall = self.cpu = 0.0

    def __enter__(self):
        self._w, self._c = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc) -> None:
        self.wall += time.perf_counter() - self._w
        self.cpu += time.process_time() - self._c

    def add(self, other: Clock) -> Clock:
        total = Clock()
        total.wall, total.cpu = self.wall + other.wall, self.cpu + other.cpu
        return total

    def as_dict(self) -> dict:
        return {"wall_s": round(self.wall, 1), "cpu_s": round(self.cpu, 1)}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def top_k_merge(best_s: np.ndarray, best_i: np.ndarray, scores: np.ndarray, offset: int):
    """Fold one chunk's scores into the running exact top K of every query."""
    s = np.concatenate([best_s, scores], axis=1)
    i = np.concatenate([best_i, np.broadcast_to(np.arange(offset, offset + scores.shape[1]), scores.shape)], axis=1)
    keep = np.argpartition(-s, K - 1, axis=1)[:, :K]
    return np.take_along_axis(s, keep, 1), np.take_along_axis(i, keep, 1)


class TwoLevelQuantizer:
    """Coarse centroids from two-level spherical k-means, and a fast approximate assignment.

    sqrt(nlist) top centroids, then each top cluster split in proportion to its share of the
    sample. A vector goes to the best centroid among the children of its ``probe`` nearest top
    centroids: about (sqrt(nlist) + probe x sqrt(nlist)) dot products instead of nlist."""

    def __init__(self, sample: np.ndarray, nlist: int, niter: int, probe: int = 8) -> None:
        dim, side = sample.shape[1], int(round(np.sqrt(nlist)))
        top = faiss.Kmeans(dim, side, niter=niter, spherical=True, max_points_per_centroid=2000)
        top.train(sample)
        _, owner = top.index.search(sample, 1)
        counts = np.bincount(owner[:, 0], minlength=side)
        share = np.cumsum(counts) * nlist // counts.sum()
        share[1:] -= share[:-1].copy()
        self.groups = []
        for group in range(side):
            members = sample[owner[:, 0] == group]
            k = int(min(share[group], len(members)))
            if k == 0:
                self.groups.append(np.empty((0, dim), dtype=np.float32))
                continue
            kmeans = faiss.Kmeans(dim, k, niter=niter, spherical=True)
            kmeans.train(members)
            self.groups.append(kmeans.centroids)
        self.centroids = np.concatenate(self.groups)
        if len(self.centroids) != nlist:  # IndexIVF.train would silently run full k-means again
            raise ValueError(f"two-level k-means gave {len(self.centroids)} centroids, not {nlist}")
        self.offsets = np.concatenate([[0], np.cumsum([len(g) for g in self.groups])])
        self.top, self.probe = top.index, probe

    def assign(self, x: np.ndarray) -> np.ndarray:
        _, near = self.top.search(x, self.probe)
        flat = near.ravel()
        order = np.argsort(flat, kind="stable")
        bounds = np.searchsorted(flat[order], np.arange(len(self.groups) + 1))
        best_s = np.full(len(x), -np.inf, dtype=np.float32)
        best = np.zeros(len(x), dtype=np.int64)
        for group, children in enumerate(self.groups):
            rows = order[bounds[group]:bounds[group + 1]] // self.probe
            if not len(rows) or not len(children):
                continue
            scores = x[rows] @ children.T
            pick = scores.argmax(1)
            value = scores[np.arange(len(rows)), pick]
            better = value > best_s[rows]
            best_s[rows[better]] = value[better]
            best[rows[better]] = self.offsets[group] + pick[better]
        return best


def estimate_production_build(data: Mixture, sample: np.ndarray, size: int, nlist: int) -> Clock:
    """What Scout's own build would cost at this size, from short runs of its two dense steps.

    Both are matrix products whose time is linear in the rows: one k-means iteration on an
    eighth of the training sample (x 8 rows x ``niter`` iterations), and the exact assignment of
    one chunk (x the number of chunks)."""
    part = sample[: len(sample) // 8]
    kmeans = faiss.Clustering(data.dim, nlist)
    kmeans.niter, kmeans.spherical, kmeans.verbose = 1, True, False
    kmeans.min_points_per_centroid = 1
    flat = faiss.IndexFlatIP(data.dim)
    train = Clock()
    with train:
        kmeans.train(part, flat)
    niter = faiss.extract_index_ivf(faiss.index_factory(data.dim, f"IVF{nlist},Flat")).cp.niter
    train.wall, train.cpu = train.wall * 8 * niter, train.cpu * 8 * niter
    assign = Clock()
    chunk = data.chunk(0, size)
    with assign:
        flat.search(chunk, 1)
    scale = size / len(chunk)
    assign.wall, assign.cpu = assign.wall * scale, assign.cpu * scale
    return train.add(assign)


def prepare(folder: Path, data: Mixture, size: int, n_queries: int, fast: bool) -> dict:
    """Today's index, the shared coarse quantizer and assignment, and exact ground truth.

    ``fast`` (large sizes): the coarse centroids and each vector's list come from
    ``TwoLevelQuantizer`` instead of full k-means and an exact scan of every centroid (over an
    hour of two busy cores at 10 M); the production
    build time is then estimated by ``estimate_production_build``. The index has the same
    type, list count and codes; its recall is compared with a production build at 1 M."""
    meta_path = folder / "base.json"
    if meta_path.exists():
        return json.loads(meta_path.read_text())
    folder.mkdir(parents=True, exist_ok=True)
    factory = vectors.choose_factory(size, data.dim)
    if factory is None:
        raise SystemExit(f"{size} vectors are searched exactly (limit {vectors.EXACT_LIMIT}); pick a larger size.")
    queries = data.queries(n_queries)
    index = faiss.index_factory(data.dim, factory, faiss.METRIC_INNER_PRODUCT)
    ivf = faiss.extract_index_ivf(index)
    sample = data.head(vectors.TRAIN_PER_LIST * ivf.nlist, size)
    log(f"{size}: training {factory} on {len(sample)} vectors{' (fast build)' if fast else ''}")
    train, assign_clock, add_clock = Clock(), Clock(), Clock()
    assigner = None
    with train:
        if fast:
            assigner = TwoLevelQuantizer(sample, ivf.nlist, ivf.cp.niter)
            ivf.quantizer.add(assigner.centroids)
        index.train(sample)
    estimate = estimate_production_build(data, sample, size, ivf.nlist) if fast else None
    del sample
    assignment = np.empty(size, dtype=np.int64)
    best_s = np.full((n_queries, K), -np.inf, dtype=np.float32)
    best_i = np.full((n_queries, K), -1, dtype=np.int64)
    for start, part in data.chunks(size):
        with assign_clock:
            nearest = assigner.assign(part) if fast else ivf.quantizer.search(part, 1)[1][:, 0]
        assignment[start:start + len(part)] = nearest
        ids = np.arange(start, start + len(part), dtype=np.int64)  # add_core keeps only a pointer
        with add_clock:
            add_preassigned(ivf, part, np.ascontiguousarray(nearest), ids)
        best_s, best_i = top_k_merge(best_s, best_i, queries @ part.T, start)
        if (start // CHUNK) % 10 == 9:
            log(f"{size}: added {start + len(part)}")
    path = folder / "today.faiss"
    faiss.write_index(index, str(path))
    np.save(folder / "queries.npy", queries)
    np.save(folder / "truth.npy", np.take_along_axis(best_i, np.argsort(-best_s, axis=1), 1))
    np.save(folder / "assignment.npy", assignment)
    np.save(folder / "centroids.npy", ivf.quantizer.reconstruct_n(0, ivf.nlist))
    build = train.add(assign_clock).add(add_clock)
    meta = {"size": size, "dim": data.dim, "nlist": ivf.nlist, "factory": factory, "fast": fast,
            "coarse_train": train.as_dict(), "assign": assign_clock.as_dict(), "add": add_clock.as_dict(),
            "today": {"factory": factory, "build": build.as_dict(), "files": [path.name]}}
    if estimate is not None:
        meta["today"]["production_estimate"] = estimate.add(add_clock).as_dict()
    meta_path.write_text(json.dumps(meta, indent=1))
    return meta


def clock_of(d: dict) -> Clock:
    c = Clock()
    c.wall, c.cpu = d["wall_s"], d["cpu_s"]
    return c


def build_ivf(folder: Path, data: Mixture, meta: dict, codes: str, name: str) -> dict:
    """``IVF{n},<codes>`` on the shared coarse quantizer and assignment."""
    size, factory = meta["size"], f"IVF{meta['nlist']},{codes}"
    index = faiss.index_factory(data.dim, factory, faiss.METRIC_INNER_PRODUCT)
    ivf = faiss.extract_index_ivf(index)
    if isinstance(faiss.downcast_index(ivf), faiss.IndexIVFPQ):
        # index_factory's default: minutes of annealing that only serves polysemous filtering, unused here
        faiss.downcast_index(ivf).do_polysemous_training = False
    ivf.quantizer.add(np.load(folder / "centroids.npy"))  # trained: IndexIVF.train skips k-means
    assignment = np.load(folder / "assignment.npy", mmap_mode="r")
    train, add = Clock(), Clock()
    sample = data.head(vectors.TRAIN_PER_LIST * ivf.nlist, size)
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)  # PQ's 64 small k-means ran 4x slower on two busy cores with two threads
    with train:
        index.train(sample)
    faiss.omp_set_num_threads(threads)
    del sample
    for start, part in data.chunks(size):
        ids = np.arange(start, start + len(part), dtype=np.int64)  # add_core keeps only a pointer
        with add:
            add_preassigned(ivf, part, np.ascontiguousarray(assignment[start:start + len(part)]), ids)
    faiss.write_index(index, str(folder / f"{name}.faiss"))
    build = clock_of(meta["coarse_train"]).add(clock_of(meta["assign"])).add(train).add(add)
    return {"factory": factory, "build": build.as_dict(), "files": [f"{name}.faiss"]}


def build_pq(folder: Path, data: Mixture, meta: dict) -> dict:
    return build_ivf(folder, data, meta, "PQ64", "pq64")


def build_sq8(folder: Path, data: Mixture, meta: dict) -> dict:
    return build_ivf(folder, data, meta, "SQ8", "sq8")


def build_refine(folder: Path, data: Mixture, meta: dict) -> dict:
    """8-bit scalar codes of every vector in id order, the re-ranking side of ``IndexRefine``."""
    size = meta["size"]
    index = faiss.IndexScalarQuantizer(data.dim, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT)
    clock = Clock()
    with clock:
        index.train(data.head(vectors.TRAIN_PER_LIST * meta["nlist"], size))
    for _, part in data.chunks(size):
        with clock:
            index.add(part)
    faiss.write_index(index, str(folder / "refine-sq8.faiss"))
    build = clock_of(meta["pq64"]["build"]).add(clock)
    return {"factory": f"IVF{meta['nlist']},PQ64 + IndexRefine(SQ8)", "build": build.as_dict(),
            "files": ["pq64.faiss", "refine-sq8.faiss"]}


def build_floats(folder: Path, data: Mixture, meta: dict) -> dict:
    """Every vector as float32 in id order, on disk: what the re-rank reads (no index is built)."""
    size = meta["size"]
    floats = np.lib.format.open_memmap(folder / "floats.npy", mode="w+", dtype=np.float32, shape=(size, data.dim))
    for start, part in data.chunks(size):
        floats[start:start + len(part)] = part
    floats.flush()
    del floats
    return {"factory": f"{meta['factory']} + float32 re-rank of the top {RERANK_DEPTH}",
            "build": meta["today"]["build"], "files": ["today.faiss"], "floats": "floats.npy"}


def build_opq(folder: Path, data: Mixture, meta: dict) -> dict:
    size, factory = meta["size"], f"OPQ64,IVF{meta['nlist']},PQ64"
    index = faiss.index_factory(data.dim, factory, faiss.METRIC_INNER_PRODUCT)
    faiss.downcast_index(faiss.extract_index_ivf(index)).do_polysemous_training = False
    clock = Clock()
    with clock:
        index.train(data.head(vectors.TRAIN_PER_LIST * meta["nlist"], size))
    for start, part in data.chunks(size):
        with clock:
            index.add_with_ids(part, np.arange(start, start + len(part), dtype=np.int64))
    faiss.write_index(index, str(folder / "opq64.faiss"))
    return {"factory": factory, "build": clock.as_dict(), "files": ["opq64.faiss"]}


def build_grown(folder: Path, data: Mixture, meta: dict) -> dict:
    """The lists a library got when it first passed ``EXACT_LIMIT``, with every vector added since:
    what an archive carried before snapshots were rebuilt on growth (``vectors.updated_snapshot``)."""
    size, first = meta["size"], vectors.EXACT_LIMIT + 1
    factory = vectors.choose_factory(first, data.dim)
    index = faiss.index_factory(data.dim, factory, faiss.METRIC_INNER_PRODUCT)
    sample = data.head(min(first, vectors.TRAIN_PER_LIST * vectors.lists_for(first)), size)
    clock = Clock()
    with clock:
        index.train(sample)
    for start, part in data.chunks(size):
        with clock:
            index.add_with_ids(part, np.arange(start, start + len(part), dtype=np.int64))
    faiss.write_index(index, str(folder / "grown.faiss"))
    return {"factory": f"{factory} trained at {first:,}", "build": clock.as_dict(), "files": ["grown.faiss"]}


BUILDERS = {"today+rerank": build_floats, "grown": build_grown, "sq8": build_sq8, "pq64": build_pq, "pq64+refine": build_refine, "opq64": build_opq}


def memory() -> dict:
    fields = {}
    with open("/proc/self/status") as handle:
        for line in handle:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
                fields[key] = int(value.split()[0]) / 1024
    return fields


def measure(spec: dict) -> dict:
    """Run in a fresh process: load one index (optionally memory-mapped), time single queries."""
    folder = Path(spec["folder"])
    # IVF lists map with IO_FLAG_MMAP; a flat code array (the refine side) only with IO_FLAG_MMAP_IFC
    flags = [faiss.IO_FLAG_MMAP, faiss.IO_FLAG_MMAP_IFC] if spec["mmap"] else [0, 0]
    queries, truth = np.load(folder / "queries.npy"), np.load(folder / "truth.npy")
    before = memory()
    started = time.perf_counter()
    parts = [faiss.read_index(str(folder / name), flag) for name, flag in zip(spec["files"], flags)]
    load_s = time.perf_counter() - started
    after_load = memory()
    index, ivf = parts[0], faiss.extract_index_ivf(parts[0])
    if len(parts) == 2:
        index = faiss.IndexRefine(parts[0], parts[1])
        index.k_factor = spec["k_factor"]
    search = index.search
    if spec.get("floats"):
        floats = np.load(folder / spec["floats"], mmap_mode="r")

        def search(q: np.ndarray, k: int):
            _, ids = index.search(q, RERANK_DEPTH)
            ids = ids[0][ids[0] >= 0]
            order = np.sort(ids)  # ascending offsets: the reads sweep the file once
            exact = floats[order] @ q[0]
            best = np.argsort(-exact)[:k]
            return exact[best][None], order[best][None]
    rows = []
    for nprobe in spec["nprobes"]:
        ivf.nprobe = min(nprobe, ivf.nlist)
        row = {"nprobe": ivf.nprobe}
        for threads in spec["threads"]:
            faiss.omp_set_num_threads(threads)
            for q in queries[:20]:  # first touches of the lists and code tables are not counted
                search(q[None], K)
            took, found = [], []
            for q in queries:
                t = time.perf_counter()
                _, ids = search(q[None], K)
                took.append((time.perf_counter() - t) * 1e3)
                found.append(ids[0])
            row[f"p50_{threads}t"], row[f"p95_{threads}t"] = (float(x) for x in np.percentile(took, [50, 95]))
        row["recall10"] = float(np.mean([len(set(f) & set(t)) / K for f, t in zip(found, truth)]))
        rows.append(row)
    end = memory()
    return {"load_s": round(load_s, 2), "rss_load_mb": round(after_load["VmRSS"] - before["VmRSS"]),
            "anon_mb": round(end["RssAnon"] - before["RssAnon"]),
            "rss_file_mb": round(end["RssFile"] - before["RssFile"]),
            "peak_mb": round(end["VmHWM"]), "base_rss_mb": round(before["VmRSS"]), "rows": rows}


def measure_in_child(spec: dict) -> dict:
    out = subprocess.run([sys.executable, "-m", "benchmarks.vector_scale", "--measure", json.dumps(spec)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def run_size(size: int, args) -> list[dict]:
    data = Mixture(args.dim, args.seed)
    fast = size > args.fast_above
    folder = args.workdir / f"{size}-{args.dim}-seed{args.seed}{'-fast' if fast else ''}"
    meta = prepare(folder, data, size, args.queries, fast)
    wanted = [v for v in args.variants if v != "opq64" or size <= args.opq_max]
    for name in wanted:
        if name in meta or name == "today":
            continue
        if name == "pq64+refine" and "pq64" not in meta:
            meta["pq64"] = build_pq(folder, data, meta)
        log(f"{size}: building {name}")
        meta[name] = BUILDERS[name](folder, data, meta)
        (folder / "base.json").write_text(json.dumps(meta, indent=1))
    results = []
    for name in wanted:
        for mmap in (False, True) if name in ("today", "pq64+refine") else (False,):
            log(f"{size}: measuring {name}{' +mmap' if mmap else ''}")
            spec = {"folder": str(folder), "files": meta[name]["files"], "mmap": mmap, "nprobes": args.nprobes,
                    "threads": args.threads, "k_factor": args.k_factor, "floats": meta[name].get("floats")}
            result = measure_in_child(spec)
            factory = meta[name]["factory"] + (f", k_factor {args.k_factor}" if name == "pq64+refine" else "")
            result.update(size=size, fast=fast, production_estimate=meta[name].get("production_estimate"),
                          variant=name + (" +mmap" if mmap else ""), factory=factory,
                          build=meta[name]["build"],
                          file_mb=round(sum((folder / f).stat().st_size for f in meta[name]["files"]) / 2**20))
            results.append(result)
            print_result(result, args.threads)
    return results


def print_result(r: dict, threads: list[int]) -> None:
    print(f"\n{r['size']:,} vectors  {r['variant']}  ({r['factory']})")
    estimate = r.get("production_estimate")
    if estimate:
        print(f"  fast build; Scout's own build estimated at {estimate['wall_s']} s wall / {estimate['cpu_s']} s CPU")
    print(f"  build {r['build']['wall_s']} s wall / {r['build']['cpu_s']} s CPU; file {r['file_mb']} MB; "
          f"load {r['load_s']} s; RSS +{r['rss_load_mb']} MB on load, after queries anon +{r['anon_mb']} MB "
          f"file-backed +{r['rss_file_mb']} MB; peak {r['peak_mb']} MB")
    for row in r["rows"]:
        lat = "  ".join(f"{t}t p50/p95 {row[f'p50_{t}t']:.2f}/{row[f'p95_{t}t']:.2f} ms" for t in threads)
        print(f"  nprobe {row['nprobe']:4d}  recall@10 {row['recall10']:.3f}  {lat}")
    sys.stdout.flush()


def markdown(results: list[dict]) -> str:
    """The BENCHMARKS.md table: one line per index and nprobe."""
    threads = sorted({int(k[4:-1]) for r in results for k in r["rows"][0] if k.startswith("p50_")})
    lat = " | ".join(f"p50 / p95 ms, {t} thread{'s' if t > 1 else ''}" for t in threads)
    lines = [f"| vectors | index | build s (wall / CPU) | file MB | RSS MB (anon / file) | nprobe | recall@10 | {lat} |",
             "|" + "---|" * (7 + len(threads))]
    for r in results:
        build = f"{r['build']['wall_s']:.0f} / {r['build']['cpu_s']:.0f}"
        if r.get("production_estimate"):
            build += f" (Scout's build ≈ {r['production_estimate']['wall_s']:.0f} / {r['production_estimate']['cpu_s']:.0f})"
        for n, row in enumerate(r["rows"]):
            head = (f"{r['size']:,} | {r['variant']} `{r['factory']}` | {build} | {r['file_mb']:,} | "
                    f"{r['anon_mb']:,} / {r['rss_file_mb']:,}") if n == 0 else " | | | |"
            cells = " | ".join(f"{row[f'p50_{t}t']:.2f} / {row[f'p95_{t}t']:.2f}" for t in threads)
            lines.append(f"| {head} | {row['nprobe']} | {row['recall10']:.3f} | {cells} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000000", help="comma-separated vector counts")
    parser.add_argument("--smoke", action="store_true", help="100 000 vectors, today's index and pq64 only")
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--nprobes", default="16,32,48,96")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--k-factor", type=int, default=4)
    parser.add_argument("--variants", help="comma-separated, from: today, " + ", ".join(BUILDERS)
                        + " (default all; today,pq64 with --smoke)")
    parser.add_argument("--fast-above", type=int, default=2_000_000,
                        help="larger sizes get the fast coarse build (see prepare); 0 for all")
    parser.add_argument("--opq-max", type=int, default=1_000_000, help="largest size that builds opq64")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "scout-vector-scale")
    parser.add_argument("--json", type=Path, help="also write all results to this file")
    parser.add_argument("--report", type=Path, help="print the markdown table of a --json file and stop")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.report:
        print(markdown(json.loads(args.report.read_text())))
        return
    if args.measure:
        print(json.dumps(measure(json.loads(args.measure))))
        return
    args.nprobes = [int(x) for x in args.nprobes.split(",")]
    args.threads = [int(x) for x in args.threads.split(",")]
    args.variants = (args.variants or ("today,pq64" if args.smoke else "today," + ",".join(BUILDERS))).split(",")
    unknown = set(args.variants) - {"today", *BUILDERS}
    if unknown:
        parser.error(f"unknown variants {sorted(unknown)}; choose from today, {', '.join(BUILDERS)}")
    sizes = [100_000] if args.smoke else [int(x) for x in args.sizes.split(",")]
    print(f"seed {args.seed}, dim {args.dim}, {args.queries} held-out queries, FAISS {faiss.__version__}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    results = [r for size in sizes for r in run_size(size, args)]
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    print("\n" + markdown(results))


if __name__ == "__main__":
    main()
