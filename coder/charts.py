"""Charts of the frequency table (optional: needs matplotlib, `pip install 'coder[charts]'`)."""
from __future__ import annotations

import io

from coder.errors import CoderError
from coder.reports import FreqTable


def freq_chart(table: FreqTable, *, fmt: str = "png", totals: dict | None = None) -> bytes:
    """A grouped horizontal bar chart: one bar group per code, one bar per column group.
    With `totals` (all units per group, as `--percent` uses) the bars are percentages of
    them; counts get whole-number ticks only."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise CoderError("charts need matplotlib", hint="pip install 'coder[charts]' (or pip install matplotlib)") \
            from None
    rows = [r for r in table.rows if r.kind == ("code" if table.level == "code" else "dimension")]
    groups = list(table.groups)
    height = max(3.0, 0.32 * len(rows) * max(1, len(groups)) ** 0.5 + 1.5)
    fig, ax = plt.subplots(figsize=(9, height), dpi=120)
    bar = 0.8 / max(1, len(groups))
    for index, group in enumerate(groups):
        positions = [i + index * bar for i in range(len(rows))]
        ax.barh(positions, [_value(r.counts.get(group, 0), group, totals) for r in rows], height=bar, label=group)
    ax.set_yticks([i + bar * (len(groups) - 1) / 2 for i in range(len(rows))])
    ax.set_yticklabels([("  " * max(0, r.depth - 1)) + r.label for r in rows], fontsize=8)
    ax.invert_yaxis()
    if totals is None:
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # no tick at half a segment
        ax.set_xlabel(f"coded {table.unit}")
        ax.set_title(f"Coded {table.unit} by {table.by}")
    else:
        ax.set_xlabel(f"% of all {table.unit} in the group")
        ax.set_title(f"Coded {table.unit} by {table.by} (% of all {table.unit} in the group)")
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, metadata={"Software": None} if fmt == "png" else {"Date": None})
    plt.close(fig)
    return buffer.getvalue()


def _value(count: int, group: str, totals: dict | None) -> float:
    if totals is None:
        return count
    total = totals.get(group, 0)
    return round(100.0 * count / total, 1) if total else 0.0
