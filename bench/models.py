"""Model benchmark: the example models trained exactly as `portrait model train` does, full evaluation.

    PORTRAIT_DATA_HOME=../shared/datasets python bench/models.py            # all four models + gender variants
    python bench/models.py --only gender --variants                          # gender and its comparison only
    python bench/models.py --out bench-models.json                           # also write the numbers as JSON

Copies both example projects into a temporary folder, builds them, trains gender and age band
(3 × 5-fold CV over users, as the catalog declares) and churn and next-90-day spend (trained at
2011-06-11, tested out-of-time at 2011-09-09), and prints each model's headline metrics beside the
baselines measured in the same run. With --variants, gender is also evaluated on the same folds
as: LR on the rating-weighted TF-IDF block alone, LightGBM on the aggregate tags alone, and LightGBM
on the aggregate tags plus the stacked TF-IDF score (what "richer features and boosting" gives).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))
os.environ.setdefault("PORTRAIT_DATA_HOME", str(REPO.parent / "shared" / "datasets"))

from portrait.config import load_project  # noqa: E402
from portrait.models.evaluate import cross_validate  # noqa: E402
from portrait.models.service import labelled_frame, settings_for, train  # noqa: E402
from portrait.models.spec import model_for  # noqa: E402
from portrait.pipeline import build, load_catalog  # noqa: E402
from portrait.snapshot import SnapshotStore  # noqa: E402

EXAMPLES = REPO / "src" / "portrait" / "examples"
MODELS = {"movielens": ["gender", "age_band"], "online-retail": ["churn", "clv_90d"]}


def _fmt(m: dict | None) -> str:
    if not m:
        return "—"
    return f"{m['mean']:.4f}" + (f" ± {m['sd']:.4f}" if len(m.get("runs", [])) > 1 else "")


def summarise(report: dict) -> dict:
    ev = report["evaluation"]
    d = ev["detail"]
    out = {"version": report["version"], "method": ev["method"], "summary": ev["summary"],
           "baselines": {n: b["summary"] for n, b in ev["baselines"].items()}, "lift": ev["lift_over_baselines"],
           "train_users": report["train"]["users"], "seconds": report["seconds"]}
    if report["task"] != "regression":
        out.update(ece=d["calibration"]["ece"], calibration=d["calibration"]["table"],
                   labelled_share=d.get("labelled_share"), labelled_accuracy=d.get("labelled_accuracy"),
                   confusion=d["confusion"])
        if report["task"] == "multiclass":
            out["within_one_class"] = d.get("within_one_class")
    if report.get("test"):
        out["test_users"] = report["test"]["users"]
    return out


def print_model(name: str, s: dict) -> None:
    print(f"\n== {name} {s['version']} ({s['method']}, {s['train_users']} training users"
          + (f", {s['test_users']} test users" if "test_users" in s else "") + f", {s['seconds']}s)")
    keys = list(s["summary"])
    print("  " + "".ljust(28) + "".join(k.ljust(20) for k in keys))
    print("  " + "model".ljust(28) + "".join(_fmt(s["summary"].get(k)).ljust(20) for k in keys))
    for b, summ in s["baselines"].items():
        print("  " + f"baseline {b}".ljust(28) + "".join(_fmt(summ.get(k)).ljust(20) for k in keys))
    print(f"  lift of the headline metric: {s['lift']}")
    if "ece" in s:
        print(f"  calibration: ECE {s['ece']}; labelled share {s['labelled_share']} at accuracy {s['labelled_accuracy']}"
              + (f"; within one band {s['within_one_class']}" if "within_one_class" in s else ""))
        for row in s["calibration"]:
            print(f"    {row['bin']}  n={row['n']:<5} predicted {row['predicted']}  observed {row['observed']}")


def gender_variants(root: Path) -> dict:
    """Gender on the catalog's folds (3 × 5) with other algorithms and feature sets, for comparison."""
    project = load_project(root)
    model = model_for(load_catalog(project), "gender")
    snap = SnapshotStore(project.warehouse).open()
    frame, labels, _ = labelled_frame(model, snap, snap, snap.manifest.as_of)
    base = settings_for(model)
    ev = model.spec.evaluation
    variants = {
        "catalog: LR on rating-weighted TF-IDF + scaled tags": base,
        "LR on rating-weighted TF-IDF only": dataclasses.replace(base, params={"C": 2.0, "dense_scale": 0.0}),
        "LightGBM on aggregate tags only": dataclasses.replace(base, algorithm="lightgbm", blocks={},
                                                               params={"num_leaves": 7}),
        "LightGBM on tags + stacked TF-IDF LR score": dataclasses.replace(base, algorithm="lightgbm",
                                                                           params={"num_leaves": 7}),
    }
    out = {}
    for name, s in variants.items():
        t = time.perf_counter()
        r = cross_validate(frame, labels.y, s, model.spec.threshold, ev.folds, ev.repeats, [])
        out[name] = {**r["summary"], "seconds": round(time.perf_counter() - t, 1)}
        print(f"  {name.ljust(52)} auc {_fmt(r['summary']['auc'])}  accuracy {_fmt(r['summary']['accuracy'])}"
              f"  log-loss {_fmt(r['summary']['log_loss'])}  ({out[name]['seconds']}s)")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", nargs="*", help="model names to train (default: all four)")
    ap.add_argument("--variants", action="store_true", help="also compare gender algorithms on the same folds")
    ap.add_argument("--out", help="write the numbers as JSON here")
    ap.add_argument("--keep", help="build the projects in this folder and keep them")
    args = ap.parse_args()
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="portrait-bench-models-"))
    results: dict = {}
    try:
        for example, names in MODELS.items():
            names = [n for n in names if not args.only or n in args.only]
            if not names and not (args.variants and example == "movielens"):
                continue
            root = work / example
            if not (root / "portrait.yaml").exists():
                shutil.copytree(EXAMPLES / example, root, ignore=shutil.ignore_patterns("__pycache__", "warehouse"))
            t = time.perf_counter()
            build(root)
            print(f"built {example} in {time.perf_counter() - t:.1f}s")
            for name in names:
                results[name] = summarise(train(root, name).report())
                print_model(name, results[name])
            if args.variants and example == "movielens":
                print("\n== gender: algorithms and feature sets on the same 3 × 5 folds")
                results["gender_variants"] = gender_variants(root)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()
