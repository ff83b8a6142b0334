#!/usr/bin/env bash
# Reruns the tracking evaluation (docs/tracking.md): sets up .venv-eval with supervision and
# TrackEval, builds footrackd, and scores both trackers on TRACAB-derived sequences.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv-eval/bin/python ] || python3 -m venv .venv-eval
.venv-eval/bin/pip install -q --disable-pip-version-check -r tools/requirements-eval.txt
cargo build --release --locked
.venv-eval/bin/python tools/eval_tracking.py "$@"
