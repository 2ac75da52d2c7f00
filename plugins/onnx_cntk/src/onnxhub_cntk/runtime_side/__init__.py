"""Code that runs inside the CNTK runtime's CPython 3.6 (stdlib, numpy, cntk only)."""
