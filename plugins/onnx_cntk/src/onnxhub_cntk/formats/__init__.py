"""Readers of CNTK's own files (pure Python, no CNTK)."""
