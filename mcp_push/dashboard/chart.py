"""The 24-hour chart as inline SVG: one row of hourly stacked bars per channel (no JS, no CDN)."""

from __future__ import annotations

import datetime as dt
import math

from mcp_push.dashboard.fmt import esc
from mcp_push.dashboard.snapshot import KINDS, Chart, Scrub

WIDTH = 1000
LABEL_W = 118
TOTALS_W = 150
ROW_H = 30
TOP = 20
BAR_GAP = 3
MIN_BAR = 2.0


def _hour(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%H:%M")


def _bucket_title(start: float, bucket: float, counts: tuple[int, int, int]) -> str:
    parts = [f"{n} {kind}" for n, kind in zip(counts, KINDS, strict=True) if n]
    return f"{_hour(start)}–{_hour(start + bucket)} UTC: {', '.join(parts) or 'no attempts'}"


def render_chart(chart: Chart, scrub: Scrub) -> str:
    if not chart.series:
        return '<p class="empty">No delivery attempts in the last 24 hours.</p>'
    buckets = len(chart.series[0].buckets)
    plot_w = WIDTH - LABEL_W - TOTALS_W
    slot = plot_w / buckets
    bar_w = slot - BAR_GAP
    area = ROW_H - 10
    peak = max((sum(b) for s in chart.series for b in s.buckets), default=1) or 1
    height = TOP + len(chart.series) * ROW_H + 2
    out = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-label="Delivery attempts per channel, last 24 hours" preserveAspectRatio="xMinYMin meet">'
    ]
    for i, label in ((0, "−24 h"), (6, "−18 h"), (12, "−12 h"), (18, "−6 h")):
        out.append(f'<text class="axis" x="{LABEL_W + i * slot:.1f}" y="11">{label}</text>')
    out.append(f'<text class="axis" x="{LABEL_W + plot_w:.1f}" y="11" text-anchor="end">now</text>')
    for row, series in enumerate(chart.series):
        y0 = TOP + row * ROW_H
        base = y0 + ROW_H - 6
        out.append(f'<g class="row"><title>{esc(series.channel, scrub)}</title>')
        out.append(f'<text class="label" x="0" y="{base - 3}">{esc(series.channel, scrub)}</text></g>')
        out.append(f'<line class="base" x1="{LABEL_W}" x2="{LABEL_W + plot_w - BAR_GAP:.1f}" y1="{base}" y2="{base}"/>')
        for j, counts in enumerate(series.buckets):
            x = LABEL_W + j * slot
            title = esc(_bucket_title(chart.start + j * chart.bucket, chart.bucket, counts))
            out.append(f"<g><title>{title}</title>")
            out.append(f'<rect class="hit" x="{x:.1f}" y="{y0}" width="{bar_w:.1f}" height="{ROW_H - 6}" rx="2"/>')
            total = sum(counts)
            # Square-root scale: one attempt stays visible next to a busy hour (exact numbers on hover).
            height = max(MIN_BAR, math.sqrt(total / peak) * area) if total else 0.0
            y = float(base)
            for n, kind in zip(counts, KINDS, strict=True):
                if not n:
                    continue
                h = height * n / total
                y -= h
                out.append(
                    f'<rect class="b-{kind}" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" rx="1.5"/>'
                )
            out.append("</g>")
        delivered, retried, failed = series.totals
        tx = WIDTH - TOTALS_W + 14
        out.append(
            f'<text class="totals" x="{tx}" y="{base - 3}">'
            f'<tspan class="t-delivered">{delivered} ✓</tspan>'
            f'<tspan class="t-retried" dx="12">{retried} ↻</tspan>'
            f'<tspan class="t-failed" dx="12">{failed} ✗</tspan></text>'
        )
    out.append("</svg>")
    return "".join(out)
