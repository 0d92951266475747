/* The flat parameter layout (see fmcl/flat.h). */
#include "fmcl/flat.h"

/* 32 floats: 128 bytes, a cache line pair and the widest vector loads a device makes. */
#define ALIGN_FLOATS 32

static size_t align_up(size_t x) { return (x + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS; }

size_t fm_flat_layout(int n_layers, const int *in, const int *out, size_t *w_off, size_t *b_off) {
  size_t off = 0;
  for (int l = 0; l < n_layers; l++) {
    if (w_off) w_off[l] = off;
    off = align_up(off + (size_t)in[l] * (size_t)out[l]);
    if (b_off) b_off[l] = off;
    off = align_up(off + (size_t)out[l]);
  }
  return off;
}
