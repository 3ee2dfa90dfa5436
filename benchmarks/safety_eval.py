"""Brand safety: precision and recall per category for image-only, text-only, late fusion and the
joint decision, on the generated evaluation set (benchmarks/safety_set.py), thresholds chosen on
its ``tune`` split and reported on the held-out ``test`` split; then ``scout safety`` throughput.

    .venv/bin/python -m benchmarks.safety_eval                 # everything (about 10 minutes on 2 cores)
    .venv/bin/python -m benchmarks.safety_eval --no-throughput
    .venv/bin/python -m benchmarks.safety_eval --perfect-ocr   # the rendered copy instead of OCR

Every signal is computed once per item (real OCR of the rendered picture, the offline model's
image vector, nudenet, words, sentence similarity) and cached; the four decisions and every
threshold candidate are then decided over the same signals.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

from benchmarks.safety_set import Item, build_items, render
from indexer.safety import Assessor, Signal, Subject, decide, load_policy
from indexer.safety.decide import MODES
from indexer.safety.policy import Policy, Thresholds


def truth_verdict(policy: Policy, item: Item) -> str:
    """What a reviewer following the policy decides, from what the item truly shows."""
    return decide(policy, [Signal(key, "words", 1.0) for key in item.categories | item.contexts], "text").verdict


def observe(items: list[Item], encoder, *, perfect_ocr: bool, cache: Path | None) -> list[tuple[np.ndarray, list[dict]]]:
    """Each item's image vector (what the library would store) and OCR lines, cached in ``cache``
    (OCR lines once, vectors per model: OCR is the slow part, about a second an item on 2 cores),
    so a changed policy or model re-scores fast."""
    import torch

    stored = json.loads(cache.read_text()) if cache and cache.exists() else {}
    lines_of = stored.setdefault("ocr", {})
    vectors = stored.setdefault("vectors", {}).setdefault(encoder.model_id, {})
    ocr = None
    if not perfect_ocr and any(item.id not in lines_of for item in items):
        from indexer.ocr import OcrOptions, load_ocr_engine
        ocr = load_ocr_engine(options=OcrOptions(threads=2))
    for number, item in enumerate(items, 1):
        if item.id in vectors and (perfect_ocr or item.id in lines_of):
            continue
        image = render(item)
        if item.id not in vectors:
            vectors[item.id] = [round(float(x), 6) for x in encoder.encode_images(torch.stack([encoder.preprocess(image)]))[0]]
        if not perfect_ocr and item.id not in lines_of:
            lines_of[item.id] = [line.as_dict() for line in ocr.recognise(image).lines]
        if number % 50 == 0:
            print(f"  observed {number}/{len(items)} items", flush=True)
            if cache:
                cache.write_text(json.dumps(stored))
    if cache:
        cache.write_text(json.dumps(stored))

    def lines(item: Item) -> list[dict]:
        if perfect_ocr:
            return [{"text": text} for text in (item.word_on_picture, item.copy) if text]
        return lines_of[item.id]

    return [(np.asarray(vectors[i.id], dtype=np.float32), lines(i)) for i in items]


def gather(items: list[Item], assessor: Assessor, observed: list[tuple[np.ndarray, list[dict]]]) -> list[list[Signal]]:
    return [assessor.signals(Subject(vector=vector, image=render(item), lines=lines))
            for item, (vector, lines) in zip(items, observed)]


def with_thresholds(policy: Policy, **values) -> Policy:
    return policy.model_copy(update={"thresholds": Thresholds(**{**policy.thresholds.model_dump(), **values})})


def score(policy: Policy, items: list[Item], signals: list[list[Signal]], mode: str) -> dict:
    tp, fp, fn = Counter(), Counter(), Counter()
    flagged = Counter()
    kinds: dict[str, list[int]] = {}
    for item, sigs in zip(items, signals):
        decision = decide(policy, sigs, mode)
        for key in policy.categories:
            got, want = key in decision.categories, key in item.categories
            tp[key] += got and want
            fp[key] += got and not want
            fn[key] += want and not got
        truth = truth_verdict(policy, item)
        flagged["tp"] += decision.verdict != "safe" and truth != "safe"
        flagged["fp"] += decision.verdict != "safe" and truth == "safe"
        flagged["fn"] += decision.verdict == "safe" and truth != "safe"
        kinds.setdefault(item.kind, []).append(decision.verdict == truth)
    per_category = {key: _pr(tp[key], fp[key], fn[key]) for key in policy.categories if tp[key] + fn[key] + fp[key]}
    micro = _pr(sum(tp.values()), sum(fp.values()), sum(fn.values()))
    return {"categories": per_category, "micro": micro, "flagged": _pr(flagged["tp"], flagged["fp"], flagged["fn"]),
            "verdict_accuracy": {kind: float(np.mean(v)) for kind, v in sorted(kinds.items())}}


def _pr(tp: int, fp: int, fn: int) -> dict:
    precision = tp / (tp + fp) if tp + fp else float("nan")
    recall = tp / (tp + fn) if tp + fn else float("nan")
    f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "support": tp + fn}


def tune(policy: Policy, items: list[Item], signals: list[list[Signal]]) -> Policy:
    """The thresholds that get the joint decision's verdicts right most often, averaged over the
    kinds of item (so 90 unsafe-text items do not outvote 17 relation ones), on the tune split
    only: coordinate ascent from the policy's own values, two rounds over every threshold."""
    grid = {"image": np.arange(0.05, 0.96, 0.05), "context_image": np.arange(0.01, 0.5, 0.01),
            "image_support": np.arange(0.01, 0.5, 0.02), "text": np.arange(0.3, 0.86, 0.05),
            "text_support": np.arange(0.1, 0.61, 0.05)}

    def objective(trial: Policy) -> float:
        accuracy = score(trial, items, signals, "joint")["verdict_accuracy"]
        return float(np.mean(list(accuracy.values())))

    best, best_value = policy, objective(policy)
    for _ in range(2):
        for name, values in grid.items():
            for value in values:
                trial = with_thresholds(best, **{name: round(float(value), 3)})
                if (result := objective(trial)) > best_value:
                    best, best_value = trial, result
    return best


def _fmt(value: float) -> str:
    return "  n/a" if value != value else f"{value:5.2f}"


def report(policy: Policy, items: list[Item], signals: list[list[Signal]], title: str) -> dict:
    results = {mode: score(policy, items, signals, mode) for mode in MODES}
    print(f"\n{title}: {len(items)} items ({dict(Counter(i.kind for i in items))})")
    print(f"{'category':16s} " + " ".join(f"{m:>13s}" for m in MODES) + "   (precision / recall)")
    keys = sorted({k for r in results.values() for k in r["categories"]})
    for key in keys:
        cells = []
        for mode in MODES:
            pr = results[mode]["categories"].get(key)
            cells.append(f"{_fmt(pr['precision'])} /{_fmt(pr['recall'])}" if pr else f"{'-':>13s}")
        support = max(results[m]["categories"].get(key, {}).get("support", 0) for m in MODES)
        print(f"{key:16s} " + " ".join(cells) + f"   n={support}")
    for row in ("micro", "flagged"):
        label = "all categories" if row == "micro" else "not-safe verdict"
        print(f"{label:16s} " + " ".join(f"{_fmt(results[m][row]['precision'])} /{_fmt(results[m][row]['recall'])}"
                                        for m in MODES))
    print("verdict accuracy by kind (safe / review / block exactly right):")
    for kind in sorted(results["joint"]["verdict_accuracy"]):
        print(f"  {kind:14s} " + " ".join(f"{m} {results[m]['verdict_accuracy'][kind]:.2f}" for m in MODES))
    return results


def typographic_flips(policy: Policy, items: list[Item], signals: list[list[Signal]]) -> str:
    flips = sum(bool(decide(policy, s, "image").categories) for i, s in zip(items, signals) if i.kind == "typographic")
    base = sum(bool(decide(policy, s, "image").categories) for i, s in zip(items, signals)
               if i.kind == "safe" and i.photo in {t.photo for t in items if t.kind == "typographic"})
    total = sum(i.kind == "typographic" for i in items)
    return f"{flips}/{total} typographic items flagged by the image side (same photos with neutral copy: {base})"


def throughput(encoder, count: int) -> None:
    from indexer.library import Library
    from indexer.pipeline import IndexRun
    from indexer.safety.library_run import judge_library
    from indexer.settings import IndexSettings

    items = [i for i in build_items() if i.kind in ("safe", "unsafe_text", "relation")][:count]
    folder = Path(tempfile.mkdtemp(prefix="scout-safety-"))
    try:
        (folder / "ads").mkdir()
        for item in items:
            render(item).save(folder / "ads" / f"{item.id}.png")
        library = Library.create_or_open(folder / "lib")
        IndexRun(library, encoder, IndexSettings()).run([folder / "ads"])
        first = judge_library(library, encoder, load_policy(), ocr=True)
        again = judge_library(library, encoder, load_policy().model_copy(update={"version": "changed"}), ocr=True)
        print(f"\nscout safety throughput, {count} rendered ads of 512 px, 2 workers:")
        print(f"  OCR not done yet: OCR {first.ocr.seconds:.1f}s + safety {first.safety.seconds:.1f}s = "
              f"{(first.ocr.seconds + first.safety.seconds) / count * 1000:.0f} ms per asset")
        print(f"  OCR already done: safety {again.safety.seconds:.1f}s = {again.safety.seconds / count * 1000:.0f} ms per asset")
        library.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--perfect-ocr", action="store_true")
    parser.add_argument("--no-throughput", action="store_true")
    parser.add_argument("--test-only", action="store_true",
                        help="Only the held-out split, judged with the shipped thresholds (no tuning).")
    parser.add_argument("--throughput-items", type=int, default=48)
    parser.add_argument("--cache", type=Path, default=None,
                        help="A JSON file keeping each item's vector and OCR lines between runs.")
    args = parser.parse_args()

    from indexer.encoders import load_encoder
    from indexer.settings import EncoderOptions

    encoder = load_encoder("offline", EncoderOptions(device="cpu"))
    policy = load_policy()
    items = [i for i in build_items() if i.split == "test" or not args.test_only]
    started = time.monotonic()
    observed = observe(items, encoder, perfect_ocr=args.perfect_ocr, cache=args.cache)
    signals = gather(items, Assessor(policy, encoder), observed)
    print(f"signals for {len(items)} items in {time.monotonic() - started:.0f}s; model {encoder.model_id}, "
          f"{'the rendered text as OCR' if args.perfect_ocr else 'real OCR of each picture'}")
    print(typographic_flips(policy, items, signals))
    if args.test_only:
        report(policy, items, signals, "held-out test split, shipped thresholds")
        return
    tune_idx = [n for n, i in enumerate(items) if i.split == "tune"]
    test_idx = [n for n, i in enumerate(items) if i.split == "test"]
    tuned = tune(policy, [items[n] for n in tune_idx], [signals[n] for n in tune_idx])
    print("thresholds chosen on the tune split:", tuned.thresholds.model_dump())
    print("thresholds shipped in default_policy.yaml:", policy.thresholds.model_dump())
    test_items, test_signals = [items[n] for n in test_idx], [signals[n] for n in test_idx]
    report(tuned, test_items, test_signals, "held-out test split, tuned thresholds")
    report(policy, test_items, test_signals, "held-out test split, shipped thresholds")
    if not args.no_throughput:
        throughput(encoder, args.throughput_items)


if __name__ == "__main__":
    main()
