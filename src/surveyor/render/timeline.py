"""The lineage timeline: papers by first-version date (x) and group (y), arrows for citations; a PNG via matplotlib.

Pure drawing from plain data (no catalog, no model): nodes are dicts with id, label, date (datetime),
group (str) and key (bool, drawn larger); an edge (a, b) is an arrow from paper a to the paper b it cites.
The PNG carries no timestamp or software tag, so the same input gives the same bytes.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path


def timeline_png(nodes: list[dict], edges: list[tuple[str, str]], path: Path, title: str = "",
                 split: datetime | None = None) -> Path:
    """Draw the timeline into `path` (a PNG) and return it; `split` (an era boundary) is drawn as a dashed line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    groups = sorted({n["group"] for n in nodes}, key=lambda g: (_leading_int(g), g))
    row = {g: i for i, g in enumerate(groups)}
    # Papers of one group on one date would overlap: spread them a little vertically.
    placed: dict[str, tuple[float, float]] = {}
    seen: dict[tuple[str, int], int] = {}
    for n in sorted(nodes, key=lambda n: (n["date"], n["id"])):
        x = mdates.date2num(n["date"])
        bucket = (n["group"], int(x // 120))
        offset = seen.get(bucket, 0)
        seen[bucket] = offset + 1
        placed[n["id"]] = (x, row[n["group"]] + (0.18 * ((offset + 1) // 2) * (1 if offset % 2 else -1)))
    height = 1.6 + 0.9 * max(1, len(groups))
    fig, ax = plt.subplots(figsize=(11, height), dpi=110)
    for a, b in edges:
        if a in placed and b in placed:
            ax.annotate("", xy=placed[b], xytext=placed[a],
                        arrowprops={"arrowstyle": "->", "color": "#8a8a8a", "lw": 0.9,
                                    "connectionstyle": "arc3,rad=0.15", "shrinkA": 5, "shrinkB": 5})
    for i, n in enumerate(sorted(nodes, key=lambda n: (n["date"], n["id"]))):
        x, y = placed[n["id"]]
        ax.scatter([x], [y], s=70 if n.get("key") else 28, zorder=3,
                   color="#1f5fa8" if n.get("key") else "#9bbbe0", edgecolors="#123", linewidths=0.5)
        ax.annotate(n["label"], (x, y), xytext=(4, 5 if i % 2 == 0 else -11), textcoords="offset points", fontsize=7)
    if split is not None:
        ax.axvline(mdates.date2num(split), color="#c44", lw=0.8, ls="--")
        ax.annotate("recent →", (mdates.date2num(split), len(groups) - 0.45), xytext=(3, 0),
                    textcoords="offset points", fontsize=7, color="#c44")
    ax.scatter([], [], s=70, color="#1f5fa8", edgecolors="#123", linewidths=0.5, label="key paper (full entry)")
    ax.scatter([], [], s=28, color="#9bbbe0", edgecolors="#123", linewidths=0.5, label="compact entry")
    ax.legend(loc="upper left", fontsize=7, frameon=False)
    ax.set_yticks(range(len(groups)))
    ax.set_yticklabels([_short(g) for g in groups], fontsize=8)
    ax.set_ylim(-0.7, len(groups) - 0.3)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
    ax.xaxis.set_major_locator(mdates.YearLocator())
    ax.grid(axis="x", color="#eeeeee")
    ax.set_xlabel("first arXiv version")
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", metadata={"Software": None})
    plt.close(fig)
    return path


def _leading_int(text: str) -> int:
    head = text.split(".", 1)[0]
    return int(head) if head.isdigit() else 10**6


def _short(text: str, limit: int = 38) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"
