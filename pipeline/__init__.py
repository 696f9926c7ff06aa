"""Claims-audit pipeline: find, tag and cross-check health claims in articles.

Stages (one module each, pure DataFrame functions): ingest -> segment -> extract -> tag ->
contradict -> validate -> report. ``pipeline.audit`` wires them; ``pipeline.io`` does all I/O.
"""
__version__ = "0.1.0"
