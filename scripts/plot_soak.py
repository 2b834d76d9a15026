#!/usr/bin/env python3
"""Draws the soak's CSV (benches/soak.rs) as a PNG: resident memory and the journal's size
on disk against the number of runs.

    python3 scripts/plot_soak.py docs/soak.csv docs/soak-rss.png

Needs matplotlib (`pip install matplotlib`).
"""

import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(csv_path, png_path):
    with open(csv_path) as f:
        rows = list(csv.DictReader(f))
    runs = [int(r["runs"]) for r in rows]
    rss = [int(r["rss_kib"]) / 1024 for r in rows]
    anon = [int(r["anon_kib"]) / 1024 for r in rows]
    db = [int(r["db_bytes"]) / 2**20 for r in rows]
    wal = [int(r["wal_bytes"]) / 2**20 for r in rows]

    fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(8, 6))
    top.plot(runs, rss, label="resident (VmRSS)", color="tab:blue")
    top.plot(runs, anon, label="of which heap (RssAnon)", color="tab:purple")
    top.legend()
    top.set_ylabel("resident memory (MiB)")
    top.set_ylim(bottom=0)
    top.grid(alpha=0.3)
    top.set_title(f"{runs[-1]:,} durable runs through one Runtime, retention on")
    bottom.plot(runs, db, label="database file", color="tab:green")
    bottom.plot(runs, wal, label="write-ahead log", color="tab:orange")
    bottom.set_ylabel("journal on disk (MiB)")
    bottom.set_xlabel("runs finished")
    bottom.set_ylim(bottom=0)
    bottom.grid(alpha=0.3)
    bottom.legend()
    fig.tight_layout()
    fig.savefig(png_path, dpi=100)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
