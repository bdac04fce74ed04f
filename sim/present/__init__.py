"""Presentation: figures, the HTML report and generated docs, read from results folders."""
