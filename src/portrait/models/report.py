"""A model version's report as readable text and as a self-contained HTML page (the JSON is the source).

Why: the people deciding whether to use a predicted tag read the report, not the pickle; it has to
say plainly what was measured, on whom, when, and against which baseline.
"""

from __future__ import annotations

import html
from typing import Any


def _fmt(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.4f}"
    return str(v)


def _metric(summary: dict, key: str) -> str:
    m = summary.get(key)
    if not m:
        return "—"
    return f"{m['mean']:.4f}" + (f" ± {m['sd']:.4f}" if len(m.get("runs", [])) > 1 else "")


def headline(report: dict) -> dict:
    """The numbers a listing shows: the headline metric for the model and each baseline."""
    ev = report.get("evaluation") or {}
    key = ev.get("headline")
    out = {"metric": key, "model": (ev.get("summary", {}).get(key) or {}).get("mean")}
    out["baselines"] = {n: (b["summary"].get(key) or {}).get("mean") for n, b in (ev.get("baselines") or {}).items()}
    return out


def _lines(report: dict) -> list[tuple[str, Any]]:
    """(section, body) pairs shared by the text and HTML forms. Body: str or a list of rows (lists)."""
    ev = report["evaluation"]
    task = report["task"]
    keys = list(ev["summary"])
    out: list[tuple[str, Any]] = []
    tr = report["train"]
    about = [
        ["model", f"{report['model']} {report['version']}"], ["tags", ", ".join(f"{k} ({v})" for k, v in report["tags"].items())],
        ["task", f"{task} {report.get('classes') or ''}".strip()], ["algorithm", report["algorithm"]],
        ["params", report.get("params") or {}], ["threshold (label → unknown below)", report.get("threshold")],
        ["seed", report["seed"]], ["created", report["created_at"]],
        ["training cutoff", tr["cutoff"]], ["features from snapshot", tr["snapshot_id"]],
        ["label window", " → ".join(tr["label_window"]) if tr.get("label_window") else f"tag {report['target'].get('tag')} at the cutoff"],
        ["training users", tr["users"]], ["labels", tr.get("labels")],
    ]
    if report.get("test"):
        te = report["test"]
        about += [["test cutoff", te["cutoff"]], ["test label window", " → ".join(te["label_window"]) if te.get("label_window") else "—"],
                  ["test users", te["users"]], ["test labels", te.get("labels")]]
    about += [["features", f"{report['features']['columns']} columns from {len(report['features']['tags'])} tags, "
                           f"{len(report['features']['sql'])} SQL features, blocks {report['features']['blocks'] or 'none'}"]]
    out.append(("Model", about))
    method = (f"{ev['repeats']} × {ev['folds']}-fold cross-validation over users" if ev["method"] == "cv"
              else "out-of-time: trained at the training cutoff, tested on users at the test cutoff")
    rows = [["", *keys], ["model", *[_metric(ev["summary"], k) for k in keys]]]
    for name, b in ev["baselines"].items():
        rows.append([f"baseline: {name}", *[_metric(b["summary"], k) for k in keys]])
    out.append((f"Evaluation ({method})", rows))
    lift = ev.get("lift_over_baselines") or {}
    if lift:
        out.append(("Lift of the model's " + ev["headline"] + " over each baseline",
                    [[n, _fmt(v)] for n, v in lift.items()]))
    d = ev["detail"]
    if task != "regression":
        extra = [["labelled share (confidence ≥ threshold)", d.get("labelled_share")],
                 ["accuracy of those labels", d.get("labelled_accuracy")], ["log-loss", d.get("log_loss")]]
        if task == "multiclass":
            extra.append(["within one class (adjacent band)", d.get("within_one_class")])
        out.append(("Labels", extra))
        cal = d["calibration"]
        out.append((f"Calibration (expected calibration error {_fmt(cal['ece'])})",
                    [["bin", "n", "predicted", "observed"]] + [[r["bin"], r["n"], r["predicted"], r["observed"]] for r in cal["table"]]))
        conf = d["confusion"]
        out.append(("Confusion matrix (rows: actual, columns: predicted)",
                    [["", *conf["labels"]]] + [[c, *row] for c, row in zip(conf["labels"], conf["matrix"])]))
    else:
        out.append(("Errors", [["mean actual", d["mean_actual"]], ["mean predicted", d["mean_predicted"]],
                               ["rmse", d["rmse"]], ["r2", d["r2"]]]))
    if report.get("importances"):
        out.append(("Feature importances", [["feature", "importance"]] + [[i["feature"] + (f" ({i['item']})" if i.get("item") else ""), i["importance"]]
                                                                       for i in report["importances"]]))
    sc = report.get("scoring")
    if sc:
        out.append(("Predictions at training time", [["snapshot", sc["snapshot_id"]], ["as of", sc["as_of"]],
                                                     ["users", sc["users"]], ["summary", sc.get("summary")]]))
    return out


def render_text(report: dict) -> str:
    parts = []
    for title, body in _lines(report):
        parts.append(title)
        parts.append("-" * len(title))
        widths = [max(len(_fmt(r[i])) for r in body if i < len(r)) for i in range(max(len(r) for r in body))]
        for row in body:
            parts.append("  ".join(_fmt(c).ljust(widths[i]) for i, c in enumerate(row)).rstrip())
        parts.append("")
    return "\n".join(parts)


def render_html(report: dict) -> str:
    e = html.escape
    body = [f"<h1>Model {e(report['model'])} {e(report['version'])}</h1>"]
    for title, rows in _lines(report):
        body.append(f"<h2>{e(title)}</h2><table>")
        for row in rows:
            body.append("<tr>" + "".join(f"<td>{e(_fmt(c))}</td>" for c in row) + "</tr>")
        body.append("</table>")
    style = ("body{font:14px system-ui,sans-serif;margin:2em;max-width:60em}table{border-collapse:collapse;margin:.5em 0}"
             "td{border:1px solid #ccc;padding:.2em .6em;text-align:right}td:first-child{text-align:left}")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>Model {e(report['model'])} {e(report['version'])}"
            f"</title><style>{style}</style></head><body>{''.join(body)}</body></html>\n")
