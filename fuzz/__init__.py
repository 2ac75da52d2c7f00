"""onnxhub's seeded fuzzing harness (see ``fuzz/campaign.py`` and docs/fuzzing.md)."""
