#!/usr/bin/env python3
"""Prints the Markdown tables of docs/benchmarks.md from a confidant-load results file.

Each table has the servers in adjacent columns. When a scenario ran more than once for a
server, the run with the median headline figure is shown, and the number of runs is noted.
"""
import json
import statistics
import sys
from collections import defaultdict

ORDER = ["confidant", "confidant-pg", "ejabberd", "prosody", "relay"]
NAMES = {"confidant": "Confidant (SQLite)", "confidant-pg": "Confidant (PostgreSQL)", "ejabberd": "ejabberd", "prosody": "Prosody", "relay": "raw relay"}


def load(path):
    runs = defaultdict(list)
    with open(path) as file:
        for line in file:
            if line.strip():
                record = json.loads(line)
                runs[(record["scenario"], record["target"])].append(record["result"])
    return runs


def median_run(results, key):
    ordered = sorted(results, key=key)
    return ordered[(len(ordered) - 1) // 2], len(results)


def table(title, targets, rows):
    print(f"\n### {title}\n")
    print("| | " + " | ".join(NAMES.get(t, t) for t in targets) + " |")
    print("|---|" + "---|" * len(targets))
    for label, cells in rows:
        print(f"| {label} | " + " | ".join(cells) + " |")


def fmt(value, places=1):
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.{places}f}"
    return f"{value:,}"


def present(runs, scenario):
    return [t for t in ORDER if (scenario, t) in runs] + sorted(t for (s, t) in runs if s == scenario and t not in ORDER)


def idle(runs):
    targets = present(runs, "idle")
    if not targets:
        return
    chosen = {t: median_run(runs[("idle", t)], lambda r: r["steps"][-1]["kibPerConnection"] or 0)[0] for t in targets}
    counts = sorted({s["connections"] for t in targets for s in chosen[t]["steps"]})
    rows = [("baseline RSS (MiB)", [fmt(chosen[t]["baselineRSSKiB"] / 1024) for t in targets])]
    for count in counts:
        def step(t):
            return next((s for s in chosen[t]["steps"] if s["connections"] == count), None)
        rows.append((f"{count:,} open: RSS (MiB)", [fmt(step(t)["rssKiB"] / 1024) if step(t) else "—" for t in targets]))
        rows.append((f"{count:,} open: KiB per connection", [fmt(step(t)["kibPerConnection"], 2) if step(t) else "—" for t in targets]))
        rows.append((f"{count:,} open: connects/s", [fmt(step(t)["connectsPerSecond"], 0) if step(t) else "—" for t in targets]))
    rows.append(("slope of the last step (KiB per connection)", [fmt(chosen[t]["steps"][-1]["slopeKiBPerConnection"], 2) for t in targets]))
    rows.append(("estimated RSS at 100,000 open (MiB)", [fmt(chosen[t]["estimatedRSSAt100kMiB"], 0) for t in targets]))
    table("Idle sockets", targets, rows)


def latency_rows(window, label=""):
    latency = window["latency"]
    return [
        (f"{label}latency p50 / p90 (ms)", f"{latency['p50']:.2f} / {latency['p90']:.2f}"),
        (f"{label}latency p99 / p99.9 / max (ms)", f"{latency['p99']:.2f} / {latency['p999']:.2f} / {latency['max']:.2f}"),
    ]


def steady(runs):
    targets = present(runs, "steady")
    if not targets:
        return
    chosen = {t: median_run(runs[("steady", t)], lambda r: r["steps"][0]["window"]["latency"]["p99"]) for t in targets}
    relay = chosen.get("relay", (None,))[0]
    rows = []

    def row(label, f):
        rows.append((label, [f(chosen[t][0], chosen[t][0]["steps"][0]["window"]) for t in targets]))

    row("runs", lambda r, w: str(chosen_count(chosen, r)))
    row("pairs / agents", lambda r, w: f"{r['pairs']:,} / {r['agents']:,}")
    row("target rate (msg/s)", lambda r, w: fmt(r["steps"][0]["targetRate"], 0))
    row("sent / delivered (msg/s)", lambda r, w: f"{r['steps'][0]['achievedSendRate']:,.0f} / {w['deliveredPerSecond']:,.0f}")
    row("lost / errors / duplicates", lambda r, w: f"{w['lost']} / {w['errors']} / {w['duplicates']}")
    row("latency p50 / p90 (ms)", lambda r, w: f"{w['latency']['p50']:.2f} / {w['latency']['p90']:.2f}")
    row("latency p99 / p99.9 / max (ms)", lambda r, w: f"{w['latency']['p99']:.2f} / {w['latency']['p999']:.2f} / {w['latency']['max']:.2f}")
    for direction in ["visitor→agent", "agent→visitor"]:
        row(f"{direction} p50 / p99 (ms)", lambda r, w, d=direction: f"{w['latencyByDirection'][d]['p50']:.2f} / {w['latencyByDirection'][d]['p99']:.2f}")
    row("stored (ack) p50 / p99 (ms)", lambda r, w: f"{w['ackLatency']['p50']:.2f} / {w['ackLatency']['p99']:.2f}" if w.get("ackLatency") else "—")
    if relay:
        base = relay["steps"][0]["window"]["latency"]["p99"]
        row("p99 ÷ raw relay's p99", lambda r, w: f"{w['latency']['p99'] / base:.1f}×")
    row("server RSS before → after (MiB)", lambda r, w: f"{(r['rssBeforeKiB'] or 0) / 1024:.0f} → {(r['rssAfterKiB'] or 0) / 1024:.0f}")
    table("Steady chat at a fixed rate", targets, rows)


def chosen_count(chosen, result):
    return next(count for (r, count) in chosen.values() if r is result)


def knee(runs):
    targets = present(runs, "steady-step-up")
    if not targets:
        return
    chosen = {t: median_run(runs[("steady-step-up", t)], lambda r: r["kneeDeliveredPerSecond"] or 0) for t in targets}

    def knee_of(t):
        return chosen[t][0]["kneeDeliveredPerSecond"] or 0

    def last_pass(r):
        passed = [s for s in r["steps"] if s["passed"]]
        return passed[-1] if passed else None

    def first_fail(r):
        return next((s for s in r["steps"] if not s["passed"]), None)

    rows = [
        ("runs", [str(chosen[t][1]) for t in targets]),
        ("knee: delivered msg/s with p99 ≤ 50 ms, nothing lost", [fmt(knee_of(t), 0) for t in targets]),
        ("p99 at the knee (ms)", [fmt(last_pass(chosen[t][0])["window"]["latency"]["p99"], 2) if last_pass(chosen[t][0]) else "—" for t in targets]),
    ]
    if "relay" in chosen and knee_of("relay"):
        rows.append(("÷ raw relay", [f"{knee_of(t) / knee_of('relay'):.2f}" for t in targets]))
    if "ejabberd" in chosen and knee_of("ejabberd"):
        rows.append(("÷ ejabberd", [f"{knee_of(t) / knee_of('ejabberd'):.2f}" for t in targets]))

    def failure(r):
        step = first_fail(r)
        if not step:
            return "none (step limit)"
        w = step["window"]
        return f"{step['targetRate']:,.0f} msg/s: p99 {w['latency']['p99']:.0f} ms, lost {w['lost']}, errors {w['errors']}"

    rows.append(("first failing step", [failure(chosen[t][0]) for t in targets]))
    table("Throughput knee (rate raised ×1.25 per 10-second step)", targets, rows)


def burst(runs):
    targets = present(runs, "burst")
    if not targets:
        return
    chosen = {t: median_run(runs[("burst", t)], lambda r: r["opensPerSecond"])[0] for t in targets}
    rows = [
        ("visitors / agents × limit", [f"{chosen[t]['visitors']:,} / {chosen[t]['agents']} × {chosen[t]['capacity'] // chosen[t]['agents']}" for t in targets]),
        ("conversations opened per second", [fmt(chosen[t]["opensPerSecond"], 0) for t in targets]),
        ("open latency p50 / p99 / max (ms)", [f"{chosen[t]['latency']['p50']:.0f} / {chosen[t]['latency']['p99']:.0f} / {chosen[t]['latency']['max']:.0f}" for t in targets]),
        ("routed / queued / failed", [f"{chosen[t]['routed']} / {chosen[t]['queued']} / {chosen[t]['failed']}" for t in targets]),
        ("queue positions distinct", ["yes" if chosen[t]["queuePositionsDistinct"] else "no" for t in targets]),
    ]
    table("Burst of conversation openings", targets, rows)


def main():
    runs = load(sys.argv[1])
    idle(runs)
    steady(runs)
    knee(runs)
    burst(runs)


if __name__ == "__main__":
    main()
