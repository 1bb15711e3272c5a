#!/bin/sh
# The GPU procedure of the device pack, as one command: `sh bench-gpu.sh` from the pack's folder on the GPU
# host (Python 3 there; no Node or network needed). Options are bench_gpu.py's (`--help`).
set -eu
cd "$(dirname "$0")"
exec python3 bench_gpu.py "$@"
