"""The ``ray`` index engine: an index run's per-file work and its embedding on a Ray cluster.

What runs where, per root of a run:

* the driver (the ``scout index`` process) scans, as for every engine, and turns the changed
  files into a work list (one Ray Data dataset);
* CPU tasks read, hash, sniff, decode, preprocess and thumbnail each file with the same
  :class:`~indexer.prepare.Preparer` the local engines run (one code path decides what a file
  becomes), writing no thumbnail themselves: a worker on another machine may not reach the library,
  so the WEBP bytes travel back with the item;
* actors embed the decoded files in batches, each loading the model once from the run's model
  id and :class:`~indexer.settings.EncoderOptions` (one GPU per actor when the options ask for
  CUDA, or ``auto`` finds GPUs in the cluster); failed, ignored and reused files pass through;
* the items stream back to the driver in scan order, which stays the one catalog writer: it
  commits every ``--commit-every`` files as in a local run, so a run is incremental, resumable
  and crash-safe in the same way and gives the same catalog.

The files are opened by path on the workers, so every node must see the library's folders under
the same paths (a shared mount). Ray retries a task whose worker died and restarts a dead actor
(a few times each, never forever: a file that kills every worker that opens it must end the
run, not loop); a cluster that goes away ends the run with a :class:`ComponentUnavailable`, and
what was committed before stays.

Without ``--address`` the engine starts a local cluster of ``--workers`` CPUs on first use (an
unchanged re-run never starts one) and stops it when the run ends; with one, it joins that
cluster and leaves it running. A process that is already connected to Ray (a notebook, tests)
is used as it is.
"""

from __future__ import annotations

import logging
import pickle
import queue
import socket
import threading
import time
import warnings
from typing import Any, Iterator

import numpy as np

from indexer.catalog import FileWrite
from indexer.encoders.base import Encoder
from indexer.errors import ComponentUnavailable, ConfigError, ScoutError
from indexer.prepare import Prepared, Preparer
from indexer.settings import EncoderOptions, EngineSettings

MIN_RAY = (2, 40)  # ActorPoolStrategy sizes, DataContext on the dataset, raise_original_map_exception
TASK_RETRIES = 3  # a decode task whose worker process died runs again this often
ACTOR_RESTARTS = 3  # and a dead embedding actor is restarted this often
FILES_PER_TASK = 8  # small decode tasks: parallel from the first files, little lost to a retry
MAX_BLOCKS = 4096  # but no more tasks than this per root (two million files: ~500 files a task)
PROBE_SECONDS = 5.0  # ray.init retries an address that does not answer for minutes
WATCH_SECONDS = 2.0  # while waiting for results, the head node is checked this often
HEAD_GONE_SECONDS = 10.0  # and given up for lost after this long without an answer
STOP_SECONDS = 5.0  # how long a stopped run waits for Ray Data to wind down before going on


class SortedHashes:
    """The catalog's known content hashes as one sorted numpy array, for the copies of the
    preparer on the cluster: Ray hands numpy arrays to every task zero-copy from the object
    store, where a Python set of two million hashes would be unpickled again by each task."""

    def __init__(self, hashes: set[str]):
        self._sorted = np.array(sorted(h.encode() for h in hashes), dtype=bytes)

    def __contains__(self, digest: object) -> bool:
        if not isinstance(digest, str) or not len(self._sorted):
            return False
        key = digest.encode()
        at = int(np.searchsorted(self._sorted, key))
        return at < len(self._sorted) and self._sorted[at] == key

    def __len__(self) -> int:
        return len(self._sorted)


def _prepare_batch(batch: dict[str, np.ndarray], preparer: Preparer) -> dict[str, np.ndarray]:
    """Decode task: one :class:`Prepared` per file row, pickled (model inputs as numpy arrays:
    plain bytes, whatever the worker's torch)."""
    items = []
    for path, root, size, mtime_ns in zip(batch["path"], batch["root"], batch["size"], batch["mtime_ns"]):
        prepared = preparer(FileWrite(str(path), str(root), int(size), int(mtime_ns))).portable()
        items.append(pickle.dumps(prepared, protocol=pickle.HIGHEST_PROTOCOL))
    return {"item": np.array(items, dtype=object)}


class _Embedder:
    """Embedding actor: loads the model once, then embeds the decoded items of each batch."""

    def __init__(self, model_id: str, options: EncoderOptions):
        from indexer.encoders import load_encoder

        self.encoder = load_encoder(model_id, options)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        import torch

        items: list[Prepared] = [pickle.loads(blob) for blob in batch["item"]]
        decoded = [item for item in items if item.kind == "decoded" and item.tensor is not None]
        if decoded:
            vectors = self.encoder.encode_images(torch.stack([torch.as_tensor(i.tensor) for i in decoded]))
            for item, vector in zip(decoded, vectors):
                item.vector = np.asarray(vector, dtype=np.float32)
                item.tensor = None  # the driver needs the vector, not 600 KB of model input
        return {"item": np.array([pickle.dumps(i, protocol=pickle.HIGHEST_PROTOCOL) for i in items], dtype=object)}


def _probe(address: str) -> None:
    """Refuse a ``host:port`` that does not answer now, instead of letting ``ray.init`` retry it
    for minutes. ``auto`` (the cluster this machine belongs to) is left to Ray."""
    if address == "auto":
        return
    target = address.removeprefix("ray://")
    host, sep, port = target.rpartition(":")
    if not sep or not host or not port.isdecimal() or not 0 < int(port) < 65536:
        raise ConfigError(f"--address {address!r} is not host:port.",
                          hint="Pass the head node's address, e.g. --address 10.0.0.5:6379 "
                          "(ray start --head prints it), ray://10.0.0.5:10001 or auto.")
    if not _answers(target):
        raise ComponentUnavailable(
            f"No Ray cluster answers at {address}.",
            hint="Start one on the head node (ray start --head) and pass the address it prints, "
            "or leave out --address to run a local cluster on this machine.") from None


def _answers(address: str) -> bool:
    host, _, port = address.rpartition(":")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=PROBE_SECONDS).close()
        return True
    except OSError:
        return False


def watch_head(batches: Iterator[Any], head: str, check_every: float = WATCH_SECONDS,
               give_up_after: float = HEAD_GONE_SECONDS, wind_down: float = STOP_SECONDS) -> Iterator[Any]:
    """``batches``, read on a helper thread while this one watches the cluster's head node.

    When the head node goes away, Ray's client keeps waiting and after a minute ends the whole
    process without a word; watching its address lets the run stop first with an error that
    says what happened (what was committed stays)."""
    results: queue.Queue = queue.Queue(maxsize=2)  # a bounded hand-over: Ray Data keeps the backlog
    stop = threading.Event()

    def hand_over(item: tuple) -> bool:
        while not stop.is_set():
            try:
                results.put(item, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False  # the consumer went away (the run stopped for another reason)

    def pump() -> None:
        try:
            for batch in batches:
                if not hand_over((None, batch)):
                    return
            hand_over((StopIteration(), None))
        except BaseException as exc:  # handed to the consuming thread, which raises it
            hand_over((exc, None))
        finally:
            getattr(batches, "close", lambda: None)()  # stops Ray Data's execution early

    pumping = threading.Thread(target=pump, name="scout-ray-results", daemon=True)
    pumping.start()
    silent_since: float | None = None
    try:
        while True:
            try:
                error, batch = results.get(timeout=check_every)
            except queue.Empty:
                if _answers(head):
                    silent_since = None
                elif silent_since is None:
                    silent_since = time.monotonic()
                elif time.monotonic() - silent_since > give_up_after:
                    raise ComponentUnavailable(
                        f"The Ray cluster's head node ({head}) stopped answering during the run; "
                        "nothing after the last commit was recorded.",
                        hint="Restart the cluster (or leave out --address), then run scout index "
                        "again: it resumes where this run stopped.") from None
                continue
            if isinstance(error, StopIteration):
                return
            if error is not None:
                raise error
            yield batch
    finally:
        # Let the helper close Ray Data's execution itself (at its next batch) before the cluster
        # is shut down under it: an interrupted run then ends quietly.
        stop.set()
        pumping.join(timeout=wind_down)


def _ray_version(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".")[:2] if part.isdigit())


class RayEngine:
    name = "ray"

    def __init__(self, settings: EngineSettings):
        try:
            import ray
        except ImportError:
            raise ComponentUnavailable(
                "--engine ray needs Ray (with Ray Data), which is not installed.",
                hint='Install Scout\'s dependencies again (pip install -e .), or pip install "ray[data]".') from None
        if _ray_version(ray.__version__) < MIN_RAY:
            raise ComponentUnavailable(
                f"--engine ray needs Ray {'.'.join(map(str, MIN_RAY))} or newer; this is Ray {ray.__version__}.",
                hint='pip install -U "ray[data]" (on every node of the cluster too).')
        if settings.address is not None:
            _probe(settings.address)
        elif settings.workers < 2:
            raise ConfigError("--engine ray needs --workers 2 or more: one CPU embeds, the others decode.",
                              hint="Use --workers 2 (or more), or --engine threads on one CPU.")
        self.settings = settings
        self._started = False  # a local cluster this engine started, stopped by close()
        self._connected = False

    # -- the cluster ------------------------------------------------------------------------------

    def _connect(self) -> None:
        import ray

        if self._connected or ray.is_initialized():
            self._connected = True
            return
        # Ray's own logger only (and workers' output stays in the cluster's log files): the
        # progress a user reads is Scout's.
        quiet: dict[str, Any] = {"logging_level": logging.ERROR, "log_to_driver": False}
        try:
            if self.settings.address is None:
                ray.init(num_cpus=self.settings.workers, include_dashboard=False, **quiet)
                self._started = True
            else:
                ray.init(address=self.settings.address, **quiet)
        except (ConnectionError, RuntimeError, ValueError, TimeoutError) as exc:
            where = self.settings.address or "a local Ray cluster"
            raise ComponentUnavailable(
                f"Could not start or join {where}: {exc}.",
                hint=f"Check the address (ray status on the head node), that the cluster runs Ray "
                f"{ray.__version__}, and, for a cluster with token authentication (Ray's default), "
                "RAY_AUTH_MODE=token and its token (ray get-auth-token) here; or leave out --address "
                "to run a local cluster.") from None
        self._connected = True

    def _embedding_resources(self, options: EncoderOptions) -> tuple[dict[str, Any], int]:
        """Resources of one embedding actor and how many of them at most: one per GPU when
        embedding on CUDA; else up to half the CPUs, and Ray Data's autoscaler grows the pool
        from one while the actors are the bottleneck (on a CPU the model usually is: BENCHMARKS.md
        "Ray engine" has the rates and the balance)."""
        import ray

        resources = ray.cluster_resources()
        gpus = int(resources.get("GPU", 0))
        if options.device.startswith("cuda") or (options.device == "auto" and gpus):
            if not gpus:
                raise ConfigError(f"--device {options.device} asked for, but the Ray cluster has no GPU.",
                                  hint="Use --device cpu or auto, or add GPU nodes to the cluster.")
            return {"num_gpus": 1, "num_cpus": 1}, gpus
        cpus = resources.get("CPU", 1.0)
        per_actor = options.threads or 1
        if cpus - per_actor < 1:  # the actor would hold every CPU, and no file would ever be decoded
            raise ConfigError(f"The Ray cluster has {cpus:g} CPUs: too few to decode on one while "
                              f"the model runs on {per_actor}.",
                              hint="Give it more CPUs (or a GPU), lower --threads, or use --engine threads.")
        return {"num_cpus": per_actor}, max(1, int(cpus) // (2 * per_actor))

    # -- the work -------------------------------------------------------------------------------

    def prepare(self, files: Iterator[FileWrite], preparer: Preparer, encoder: Encoder) -> Iterator[Prepared]:
        files = iter(files)
        first = next(files, None)  # the run fills preparer.known_hashes before the first file
        if first is None:
            return
        work = [first, *files]
        self._connect()
        try:
            yield from self._run(work, preparer, encoder)
        except ScoutError:
            raise
        except Exception as exc:
            import ray

            if not isinstance(exc, (ray.exceptions.RayError, ConnectionError, TimeoutError)):
                raise
            first_line = (str(exc).splitlines() or [""])[0]
            raise ComponentUnavailable(
                f"The Ray cluster failed during the run ({type(exc).__name__}: {first_line}); "
                "nothing after the last commit was recorded.",
                hint="Check the cluster (ray status), then run scout index again: it resumes where this "
                "run stopped.") from None

    def _run(self, work: list[FileWrite], preparer: Preparer, encoder: Encoder) -> Iterator[Prepared]:
        import ray
        import ray.data

        # Workers decode on their CPUs (routing JPEGs to a GPU is the local engines' business) and
        # send thumbnails back as bytes, since they may not reach the library.
        remote = Preparer(preparer.transform, None, preparer.settings, SortedHashes(preparer.known_hashes),
                          route_jpegs=False)
        options = self.settings.encoder_options
        actor_resources, max_actors = self._embedding_resources(options)
        rows = [{"path": f.path, "root": f.root, "size": f.size, "mtime_ns": f.mtime_ns} for f in work]
        blocks = min(MAX_BLOCKS, -(-len(rows) // FILES_PER_TASK))  # one decode task per block
        dataset = ray.data.from_items(rows, override_num_blocks=blocks)
        context = dataset.context  # this dataset's own copy: nothing process-wide changes
        context.execution_options.preserve_order = True
        context.enable_progress_bars = False
        context.print_on_execution_start = False
        context.enable_auto_log_stats = False
        context.raise_original_map_exception = True
        with warnings.catch_warnings():
            # Ray Data 2.60 marks retry limits as "ray_remote_args" to be replaced; its default
            # is to retry forever, which turns a file that kills every worker into a hung run.
            # (Different remote args also keep the decode tasks from being fused into the actors.)
            warnings.simplefilter("ignore", DeprecationWarning)
            decoded = dataset.map_batches(
                _prepare_batch, fn_kwargs={"preparer": remote}, batch_size=FILES_PER_TASK, batch_format="numpy",
                num_cpus=1, max_retries=TASK_RETRIES)
            embedded = decoded.map_batches(
                _Embedder, fn_constructor_args=(encoder.model_id, options),
                batch_size=preparer.settings.batch_size, batch_format="numpy",
                compute=ray.data.ActorPoolStrategy(min_size=1, max_size=min(max_actors, len(rows))),
                max_restarts=ACTOR_RESTARTS, max_task_retries=TASK_RETRIES, **actor_resources)
        batches = embedded.iter_batches(batch_size=None, batch_format="numpy")
        try:
            head = ray.get_runtime_context().gcs_address
        except Exception:  # a Ray Client (ray://) connection has no head address to watch
            head = None
        for batch in watch_head(batches, head) if head else batches:
            for blob in batch["item"]:
                yield pickle.loads(blob)

    def close(self) -> None:
        """Stop the local cluster this engine started (a joined cluster keeps running)."""
        if self._started:
            import ray

            ray.shutdown()
            self._started = False
        self._connected = False


def load(settings: EngineSettings) -> RayEngine:
    return RayEngine(settings)
