"""Is a point above a peer's frontier? Each AQPL point against each peer's curve at equal Clean.

    python benchmarks/frontier_verdict.py docs/runs/frontier/embedded.json
    python benchmarks/frontier_verdict.py docs/runs/frontier/fashion-mnist.json --markdown

For every point of an AQPL family and every peer family (GNT, AugMix, AugMix + GNT), the peer's
metrics are interpolated linearly along its curve (its points ordered by Clean) at the point's
Clean; a point outside the peer's Clean range is compared with the nearest end only if that end
is within 0.3 of it, else marked "out of range". It prints the differences (point − peer) on
Conform, All, All without imitated corruptions, Gaussian, and the relative difference in NLL
under Gaussian noise, and the goal of the issue "Answers worth more than a noise level": above a
peer when Conform ≥ +1.0 and All ≥ +1.0, or NLL under Gaussian noise ≥ 10 % lower.
"""

import argparse
import json
from pathlib import Path

PEERS = ("gnt", "augmix", "augmix-gnt")
TOLERANCE = 0.3  # Clean may lie this far beyond a peer's curve and still be compared with its end
ROWS = ("conform", "all", "all_unimitated", "gaussian")


def value(entry: dict, metric) -> float | None:
    if isinstance(metric, tuple):
        stat = (entry.get("calibration") or {}).get(metric[0], {}).get(metric[1])
    else:
        stat = entry.get(metric)
    return None if stat is None else stat["mean"]


def interpolate(curve: list[dict], clean: float, metric) -> float | None:
    """The peer's `metric` at `clean` along its curve (None when out of range)."""
    points = sorted(((value(e, "clean"), value(e, metric)) for e in curve if value(e, metric) is not None))
    if not points:
        return None
    if clean < points[0][0]:
        return points[0][1] if points[0][0] - clean <= TOLERANCE else None
    if clean > points[-1][0]:
        return points[-1][1] if clean - points[-1][0] <= TOLERANCE else None
    for (c0, v0), (c1, v1) in zip(points, points[1:]):
        if c0 <= clean <= c1:
            return v0 if c1 == c0 else v0 + (clean - c0) / (c1 - c0) * (v1 - v0)
    return None


def verdicts(entries: list[dict]) -> list[dict]:
    out = []
    peers = {f: [e for e in entries if e["family"] == f] for f in PEERS}
    for entry in entries:
        if not entry["family"].startswith(("aqpl", "every-level")):
            continue
        clean = value(entry, "clean")
        for family, curve in peers.items():
            if not curve:
                continue
            row = {"label": entry["label"], "family": entry["family"], "peer": family, "clean": clean}
            for metric in ROWS:
                peer = interpolate(curve, clean, metric)
                row[metric] = None if peer is None or value(entry, metric) is None else value(entry, metric) - peer
            peer_nll = interpolate(curve, clean, ("gaussian", "nll"))
            mine = value(entry, ("gaussian", "nll"))
            row["nll_gaussian"] = None if peer_nll is None or mine is None else (mine - peer_nll) / peer_nll * 100
            if row["conform"] is None:
                row["above"] = None
            else:
                row["above"] = (row["conform"] >= 1.0 and row["all"] >= 1.0) or (
                    row["nll_gaussian"] is not None and row["nll_gaussian"] <= -10.0)
            out.append(row)
    return out


def fmt(v, pct=False) -> str:
    if v is None:
        return "out of range"
    return f"{v:+.1f} %" if pct else f"{v:+.2f}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("json")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--labels", default="", help="only these points (comma-separated)")
    args = parser.parse_args(argv)
    entries = json.loads(Path(args.json).read_text())["points"]
    rows = verdicts(entries)
    if args.labels:
        keep = set(args.labels.split(","))
        rows = [r for r in rows if r["label"] in keep]
    header = ["point", "peer", "Clean", "Δ Conform", "Δ All", "Δ All w/o imitated", "Δ Gaussian", "Δ NLL (Gaussian)", "above?"]
    lines = []
    for r in rows:
        above = "n/a" if r["above"] is None else ("**yes**" if r["above"] else "no")
        lines.append([r["label"], r["peer"], f"{r['clean']:.2f}", fmt(r["conform"]), fmt(r["all"]), fmt(r["all_unimitated"]),
                      fmt(r["gaussian"]), fmt(r["nll_gaussian"], pct=True), above])
    if args.markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for line in lines:
            print("| " + " | ".join(line) + " |")
    else:
        widths = [max(len(x[i]) for x in [header] + lines) for i in range(len(header))]
        for line in [header] + lines:
            print("  ".join(c.ljust(w) for c, w in zip(line, widths)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
