"""The suite's plots (matplotlib, the ``bench`` extra): rates, latency vs load, list-size scaling."""

from __future__ import annotations

from pathlib import Path
from typing import Any

ORDER = ("copier", "worker", "copier-alos", "worker-alos", "faust", "quixstreams")


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def rates_plot(report: dict[str, Any], path: Path) -> Path | None:
    """Bars: median events/s per engine; dots: each round."""
    e2e = report.get("e2e")
    if not e2e or not e2e["rates"]:
        return None
    plt = _pyplot()
    names = [n for n in ORDER if n in e2e["rates"]]
    fig, ax = plt.subplots(figsize=(8, 4.2))
    colors = ["#9aa5b1" if n.startswith("copier") else "#2b6cb0" if n.startswith("worker") else "#c05621"
              for n in names]  # fmt: skip
    ax.bar(range(len(names)), [e2e["rates"][n] for n in names], color=colors)
    for i, name in enumerate(names):
        rounds = [d["rate"] for d in e2e["drains"] if d["engine"] == name]
        ax.plot([i] * len(rounds), rounds, "k.", markersize=5)
    labels = [
        e2e["labels"].get(n, n).replace(" (txscreen copy)", "").replace("txscreen Faust", "Faust")
        for n in names
    ]
    ax.set_xticks(range(len(names)), [label.replace(", ", "\n") for label in labels], fontsize=8)
    ax.set_ylabel("events/s (median; dots: rounds)")
    ax.set_title(f"End-to-end drain of {e2e['events']:,} events — {report['date']}")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def latency_plot(report: dict[str, Any], path: Path) -> Path | None:
    """p50, p99 and p99.9 against the offered load, one panel per guarantee and worker latency profile."""
    runs = report.get("latency") or []
    if not runs:
        return None
    plt = _pyplot()
    panels = list(dict.fromkeys((r["guarantee"], r.get("profile", "throughput")) for r in runs))
    fig, axes = plt.subplots(1, len(panels), figsize=(4.5 * len(panels), 3.8), sharey=True, squeeze=False)
    for ax, (guarantee, profile) in zip(axes[0], panels, strict=True):
        rows = sorted(
            (r for r in runs if (r["guarantee"], r.get("profile", "throughput")) == (guarantee, profile)),
            key=lambda r: r["share"],
        )
        x = [r["share"] * 100 for r in rows]
        for key, label, color in (("p50_ms", "p50", "#2b6cb0"), ("p99_ms", "p99", "#c05621"),
                                  ("p999_ms", "p99.9", "#742a2a")):  # fmt: skip
            ax.plot(x, [r[key] for r in rows], "o-", color=color, label=label)
        ax.set_title(f"{guarantee}, --latency {profile}")
        ax.set_xlabel("offered load, % of the worker's exactly-once rate")
        ax.set_xticks([25, 50, 75])
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("ms, in Kafka → visible to read_committed")
    axes[0][0].legend(fontsize=8)
    fig.suptitle(f"Latency vs offered load — {report['date']}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def scaling_plot(report: dict[str, Any], path: Path) -> Path | None:
    """Core ratio, build time and memory against the synthetic names added to the bundled lists."""
    rows = (report.get("core") or {}).get("scaling") or []
    if not rows:
        return None
    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.8))
    x = range(len(rows))
    labels = [f"+{r['synthetic_names']:,}\n{r['keys'] / 1000:,.0f}k keys" for r in rows]
    left.bar(x, [r["ratio"] for r in rows], color="#2b6cb0")
    left.set_xticks(x, labels, fontsize=7)
    left.set_ylabel("core ratio (core / orjson loop)")
    left.set_xlabel("synthetic names on top of the bundled lists")
    left.grid(axis="y", alpha=0.3)
    right.plot(x, [r["build_seconds"] for r in rows], "o-", color="#c05621")
    right.set_xticks(x, labels, fontsize=7)
    right.set_ylabel("automaton build, s", color="#c05621")
    right.set_xlabel("synthetic names on top of the bundled lists")
    right.grid(alpha=0.3)
    mem = right.twinx()
    mem.plot(x, [r["build_peak_rss_mb"] for r in rows], "s--", color="#4a5568")
    mem.set_ylabel("peak RSS after build, MiB", color="#4a5568")
    fig.suptitle(f"List-size scaling — {report['date']}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def draw_all(report: dict[str, Any], out: Path) -> list[Path]:
    """Every plot that has data; the files written."""
    drawn = [
        rates_plot(report, out / "rates.png"),
        latency_plot(report, out / "latency.png"),
        scaling_plot(report, out / "scaling.png"),
    ]
    return [p for p in drawn if p is not None]
