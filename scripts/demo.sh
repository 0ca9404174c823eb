#!/usr/bin/env bash
# The main job on the built-in data: pretrain an MAE on scikit-learn's digits, then
# evaluate it against raw pixels and the same encoder at random init.
source "$(dirname "$0")/_setup.sh"
RUN="runs/demo-mae-digits-$(date +%Y%m%d-%H%M%S)"
# Digits are 8x8: with 2x2 patches a per-patch-normalised target erases the stroke
# intensity, so the demo regresses raw pixels and masks half of the 16 tokens.
.venv/bin/maskfuse pretrain --recipe mae --data digits --out "$RUN" \
  train.steps=1500 image.norm_pix=false mask.ratio=0.5 "$@"
.venv/bin/maskfuse evaluate "$RUN"
.venv/bin/maskfuse report "$RUN"
echo "run directory: $RUN"
echo "open $RUN/report/report.html in a browser for curves, reconstructions and the embedding map"
