"""The comparison report of two runs: the migration heatmap, key moves and segment changes."""

from __future__ import annotations

from segmint.lifecycle.compare import GONE, NEW
from segmint.report import format as fmt
from segmint.report.charts import Chart, HeatmapPanel
from segmint.report.document import Bullets, Figures, Paragraph, Report, Section, Table


def build_compare_report(summary: dict) -> Report:
    """Return the document of `segmint compare` from compare.json's content."""
    migration, people = summary["migration"], summary["customers"]
    rows, columns, counts = migration["rows"], migration["columns"], migration["counts"]
    moved = sum(
        n
        for i, row in enumerate(counts)
        for j, n in enumerate(row)
        if rows[i] != NEW and columns[j] != GONE and rows[i] != columns[j]
    )
    subtitle = (
        f"{fmt.file_name(summary['old'])} (as of {summary['as_of']['old']}) → "
        f"{fmt.file_name(summary['new'])} (as of {summary['as_of']['new']})"
    )
    overview = Section("summary", "What changed").add(
        Figures(
            (
                ("Customers before", fmt.whole(people["old"])),
                ("Customers now", fmt.whole(people["new"])),
                ("In both", fmt.whole(people["both"])),
                ("Changed segment", fmt.whole(moved)),
                ("New customers", fmt.whole(sum(counts[rows.index(NEW)]))),
                ("Not seen again", fmt.whole(sum(r[columns.index(GONE)] for r in counts))),
            )
        ),
        Paragraph("The largest moves:"),
        Bullets(tuple(summary["moves"]) or ("No customer changed segment.",)),
    )
    top = max((n for row in counts for n in row), default=0) or 1
    chart = Chart(
        "migration",
        "Where each segment's customers went",
        (
            HeatmapPanel(
                title="",
                x_labels=columns,
                y_labels=rows,
                z=[[n / top for n in row] for row in counts],
                text=[[fmt.whole(n) for n in row] for row in counts],
                diverging=False,
                colour_title="customers",
                x_title="segment now",
                y_title="segment before",
            ),
        ),
        height=max(320, 60 + 42 * len(rows)),
        caption=f"Customers by their segment before (rows) and now (columns); {NEW}: customers "
        f"only in the new data, {GONE}: customers only in the old. The cells add up to "
        f"{fmt.whole(people['union'])} customers.",
    )
    matrix = Section("migration", "Migration matrix").add(
        chart,
        Table(
            ("before \\ now", *columns),
            tuple((r, *(fmt.whole(n) for n in row)) for r, row in zip(rows, counts, strict=True)),
            "l" + "r" * len(columns),
        ),
    )
    changes = Section("segments", "Segments before and now").add(
        Table(
            (
                "segment",
                "status",
                "customers before",
                "customers now",
                "change",
                "revenue before",
                "revenue now",
                "revenue change",
            ),
            tuple(
                (
                    s["name"],
                    s["status"],
                    fmt.whole(s["customers_old"]),
                    fmt.whole(s["customers_new"]),
                    f"{s['customers_change']:+,}",
                    fmt.money(s["revenue_old"]),
                    fmt.money(s["revenue_new"]),
                    f"{s['revenue_change']:+,.2f}",
                )
                for s in summary["segments"]
            ),
            "llrrrrrr",
            note="Segments are matched by name: run the new data with --previous OLD_DIR to "
            "keep the old segments' names where they persist.",
        ),  # fmt: skip
    )
    return Report(
        "Segment migration",
        subtitle,
        [overview, matrix, changes],
        sources="compare.json and migration.csv",
    )
