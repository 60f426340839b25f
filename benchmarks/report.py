"""The suite's report: suite.json, suite.md, the plots, and the results section of benchmarks/README.md."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from benchmarks.core import markdown as core_markdown
from benchmarks.whole_process import markdown as whole_markdown

README_START = "<!-- RESULTS -->"
README_END = "<!-- /RESULTS -->"
TARGET_E2E = 0.8
TARGET_PEER = 3.0


def _rate(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


def _ratio(entry: dict[str, Any] | None, digits: int = 2) -> str:
    if not entry or entry.get("median") is None:
        return "–"
    rounds = ", ".join(f"{r:.{digits}f}" for r in entry["rounds"])
    return f"**{entry['median']:.{digits}f}** ({rounds})"


def whole_process_markdown(report: dict[str, Any]) -> list[str]:
    """The whole-process table (``txscreen screen FILE`` vs an orjson loop), when it ran."""
    whole = report.get("whole_process")
    if not whole:
        return []
    return [whole_markdown(whole).rstrip(), ""]


def e2e_multilingual_markdown(report: dict[str, Any]) -> list[str]:
    """Worker vs copier, exactly-once, on the multilingual profile, when it ran."""
    multi = report.get("e2e_multilingual")
    if not multi:
        return []
    rates = multi["rates"]
    return [
        "",
        f"Multilingual profile ({multi['events']:,} events, {multi['rounds']} rounds, exactly-once): "
        f"`txscreen run` {_rate(rates.get('worker'))}, copier {_rate(rates.get('copier'))}, "
        f"worker / copier {_ratio(multi['ratio'])}.",
    ]


def e2e_markdown(report: dict[str, Any]) -> list[str]:
    """The end-to-end table: median rate per engine and the ratios, per round in brackets."""
    e2e = report.get("e2e")
    if not e2e:
        return []
    rates, ratios, labels = e2e["rates"], e2e["ratios"], e2e["labels"]
    plan = report["plan"]
    lines = [
        f"### End-to-end — {e2e['events']:,} events, {e2e['partitions']} partitions, "
        f"median of {plan['rounds']} rounds ({plan['peer_rounds']} for Faust and quixstreams)",
        "",
        "| engine | events/s (median) | ratio (median; per round) |",
        "|---|---|---|",
    ]
    rows = [
        ("copier", None),
        ("worker", "worker/copier"),
        ("copier-alos", None),
        ("worker-alos", "worker-alos/copier-alos"),
        ("faust", "faust/copier-alos" if "faust/copier-alos" in ratios else "faust/copier"),
        ("quixstreams", "quixstreams/copier"),
    ]
    for name, key in rows:
        if name not in rates:
            continue
        ratio = f"{key.replace('/', ' / ')}: {_ratio(ratios.get(key))}" if key else "baseline"
        lines.append(f"| {labels.get(name, name)} | {_rate(rates[name])} | {ratio} |")
    worker_copier = (ratios.get("worker/copier") or {}).get("median")
    worker_peer = (ratios.get("worker/quixstreams") or {}).get("median")
    lines.append("")
    if worker_copier is not None:
        verdict = "met" if worker_copier >= TARGET_E2E else "**not met**"
        lines.append(
            f"- **worker / copier (exactly-once): {worker_copier:.2f}** — target ≥ {TARGET_E2E}: {verdict}."
        )
    if worker_peer is not None:
        verdict = "met" if worker_peer >= TARGET_PEER else "**not met**"
        of_medians = rates["worker"] / rates["quixstreams"]
        lines.append(
            f"- **txscreen / quixstreams peer (exactly-once): {worker_peer:.1f}×** (median of per-round "
            f"ratios {_ratio(ratios.get('worker/quixstreams'), 1)}; ratio of the median rates "
            f"{of_medians:.1f}×) — target ≥ {TARGET_PEER:.0f}×: {verdict}."
        )
    loadgen = report.get("loadgen")
    if loadgen and rates.get("worker"):
        lines.append(
            f"- `txscreen loadgen` alone: {loadgen['kafka']:,.0f} events/s to Kafka "
            f"({loadgen['kafka'] / rates['worker']:.1f}× the worker), "
            f"{loadgen['file']:,.0f} events/s to a JSON Lines file."
        )
    if "faust/copier" in ratios:
        lines.append(
            f"- Faust engine (at-least-once) / copier exactly-once: {_ratio(ratios['faust/copier'])}."
        )
    return lines


def latency_markdown(report: dict[str, Any]) -> list[str]:
    """Latency percentiles per guarantee and offered load."""
    runs = report.get("latency") or []
    if not runs:
        return []
    lines = [
        f"### Latency — offered load as a share of the worker's exactly-once rate, "
        f"{report['plan']['latency_seconds']:.0f} s a run",
        "",
        "From the event's append to the input topic to its output being visible to a read_committed "
        "consumer (see benchmarks/latency.py).",
        "",
        "| guarantee | --latency | offered load | offered events/s | sent events/s | p50 | p99 | p99.9 "
        "| max | p50 / p99 until produced |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        lines.append(
            f"| {r['guarantee']} | {r.get('profile', 'throughput')} | {r['share']:.0%} | "
            f"{r['offered_rate']:,.0f} | {r['achieved_rate']:,.0f} | "
            f"{r['p50_ms']:.0f} ms | {r['p99_ms']:.0f} ms | {r['p999_ms']:.0f} ms | {r['max_ms']:.0f} ms | "
            f"{r.get('p50_produced_ms', 0):.0f} / {r.get('p99_produced_ms', 0):.0f} ms |"
        )
    return lines


def engines_markdown(report: dict[str, Any]) -> list[str]:
    """The core on both engines (benchmarks/engines.py), when it ran."""
    engines = report.get("engines")
    if not engines:
        return []
    from benchmarks.engines import markdown as table

    return ["### Engines — the core on the native fast path and on pure Python", "", table(engines), ""]


def markdown(report: dict[str, Any]) -> str:
    """The whole report as markdown."""
    mode = "quick run" if report["plan"]["quick"] else "full run"
    lines = [
        f"## Benchmark suite — {report['date']} on {report['machine']} ({mode}, "
        f"{report.get('seconds', 0) / 60:.0f} min)",
        "",
        core_markdown(report["core"]).rstrip(),
        "",
        *whole_process_markdown(report),
        *engines_markdown(report),
        *e2e_markdown(report),
        *e2e_multilingual_markdown(report),
        "",
        *latency_markdown(report),
    ]
    notes = report.get("notes") or []
    if notes:
        lines += ["", "Notes:", "", *(f"- {n}" for n in notes)]
    return "\n".join(lines).rstrip() + "\n"


def update_readme(readme: Path, section: str) -> None:
    """Replace the results section of ``readme`` (from ``<!-- RESULTS -->`` to its end marker)."""
    text = readme.read_text()
    block = f"{README_START}\n\n{section.rstrip()}\n\n{README_END}"
    pattern = re.compile(re.escape(README_START) + r"(.*?" + re.escape(README_END) + r"|.*\Z)", re.DOTALL)
    if README_START not in text:
        text = text.rstrip() + "\n\n" + block + "\n"
    else:
        text = pattern.sub(lambda _m: block, text, count=1)
    readme.write_text(text if text.endswith("\n") else text + "\n")


def readme_section(report: dict[str, Any], text: str, images: list[Path]) -> str:
    """The README's results section: the report with its plots, demoted one heading level."""
    body = re.sub(r"^(#+) ", lambda m: "#" + m.group(1) + " ", text, flags=re.MULTILINE)
    pictures = " ".join(f"![{p.stem}](results/{p.name})" for p in images)
    return f"{body.rstrip()}\n\n{pictures}\n\nFull data: [results/suite.json](results/suite.json)."


def write_results(report: dict[str, Any], out: Path, *, readme: Path | None) -> str:
    """Write suite.json, suite.md and the plots into ``out``; update ``readme``; the markdown."""
    from benchmarks.plots import draw_all

    (out / "suite.json").write_text(json.dumps(report, indent=2) + "\n")
    text = markdown(report)
    (out / "suite.md").write_text(text)
    images = draw_all(report, out)
    if readme is not None:
        update_readme(readme, readme_section(report, text, images))
    return text
