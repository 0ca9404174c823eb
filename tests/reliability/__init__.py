"""Probes of issue 18 that cut across sources: fuzzing every reader a user's file goes
through. The probes that belong to one module stay beside its tests (tests mirror src/):
hostile shard names in tests/data/test_shards.py, decompression bombs in
tests/data/test_sources.py, the range of every config field in tests/test_config_ranges.py,
two writers and torn metrics lines in tests/train/test_run_folder.py, corrupt
checkpoints in tests/train/test_checkpoint.py, refused writes in tests/test_cli.py."""
