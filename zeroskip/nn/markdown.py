"""Markdown tables for the reports of the networks' flows (the demo, ``zeroskip run``)."""

__all__ = ["markdown_table"]


def markdown_table(header, rows, cell=str):
    """A Markdown table of ``header`` and ``rows``, each cell written by ``cell``."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
