/* The layout of a model's flat parameter buffer (and of its gradient and optimizer state):
 * layer l's weight W_l (out, in) row-major, then its bias, each block starting on a
 * 128-byte boundary. The model, its checkpoints and its exported files share it. */
#ifndef FMCL_FLAT_H
#define FMCL_FLAT_H

#include <stddef.h>

/* Where layer l (in[l] -> out[l]) keeps W and b, in floats (w_off, b_off: n_layers each;
 * either may be NULL); returns the flat size. */
size_t fm_flat_layout(int n_layers, const int *in, const int *out, size_t *w_off, size_t *b_off);

#endif
