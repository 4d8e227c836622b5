"""monitio's benchmarks: ``bash bench/run.sh`` (see bench/README.md)."""
