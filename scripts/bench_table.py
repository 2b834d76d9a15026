#!/usr/bin/env python3
"""Prints the BENCHMARKS.md table from criterion's last run (target/criterion).

Point estimates: the slope when criterion fitted one (linear sampling), else the mean.
Run from the repository root after `cargo bench`: python3 scripts/bench_table.py
"""
import json
import os
import sys

ROOT = os.path.join(os.path.dirname(__file__), "..", "target", "criterion")

# group -> (baseline id, divisor for the per-unit column, unit)
GROUPS = {
    "chain": ("direct", 1000, "node"),
    "fanout": ("joinset/current_thread", 1000, "node"),
    "lattice": ("joinset", None, None),
    "cpu": ("sequential", None, None),
    "batch": ("rayon", 1_000_000, "record"),
}
PEERS = ("dagx", "dagrs")


def load():
    found = {}
    for dirpath, _, files in os.walk(ROOT):
        if "benchmark.json" in files and os.path.basename(dirpath) == "new":
            with open(os.path.join(dirpath, "benchmark.json")) as f:
                bench = json.load(f)
            with open(os.path.join(dirpath, "estimates.json")) as f:
                est = json.load(f)
            point = (est.get("slope") or est["mean"])["point_estimate"]
            found[(bench["group_id"], bench["function_id"])] = point
    return found


def fmt_time(ns):
    if ns >= 1e9:
        return f"{ns / 1e9:.3f} s"
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.1f} µs"
    return f"{ns:.1f} ns"


def main():
    found = load()
    if not found:
        sys.exit("no criterion results under target/criterion: run `cargo bench` first")
    print("| bench | contender | time per run | per unit | ÷ baseline | dagx ÷ this | dagrs ÷ this |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for group, (base_id, div, unit) in GROUPS.items():
        rows = sorted(fid for (g, fid) in found if g == group)
        if not rows:
            continue
        base = found.get((group, base_id))
        # The peers' best figure in this group, to compare every row with.
        peer = {
            p: min((found[(group, f)] for f in rows if f.startswith(p + "/") or f == p), default=None)
            for p in PEERS
        }
        for fid in rows:
            t = found[(group, fid)]
            per = fmt_time(t / div) + f"/{unit}" if div else ""
            ratio = f"{t / base:.2f}×" if base else ""
            cells = []
            for p in PEERS:
                cells.append(f"{peer[p] / t:.1f}×" if peer[p] and fid.startswith("onex") else "")
            name = f"**{fid}**" if fid.startswith("onex") else fid
            print(f"| {group} | {name} | {fmt_time(t)} | {per} | {ratio} | {cells[0]} | {cells[1]} |")


if __name__ == "__main__":
    main()
