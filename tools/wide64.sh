#!/usr/bin/env bash
# Writes the 64-D recipe's data to the CSV file $1: 20,000 points of a seeded mixture of 8
# Gaussians in 64 dimensions (awk's generator, so no Python is needed, as on a GPU machine).
set -euo pipefail
awk 'BEGIN { srand(7); for (c = 0; c < 8; c++) for (d = 0; d < 64; d++) m[c, d] = 4 * (rand() - 0.5)
  for (i = 0; i < 20000; i++) { c = int(8 * rand()); line = ""
    for (d = 0; d < 64; d++) { z = sqrt(-2 * log(1 - rand())) * cos(6.283185307 * rand())
      line = line (d ? "," : "") sprintf("%.5f", m[c, d] + 0.5 * z) }
    print line } }' >"$1"
