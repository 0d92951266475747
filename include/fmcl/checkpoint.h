/* Model checkpoints (.fmck): everything needed to sample from a trained model or to go on
 * training it, in one versioned binary file.
 *
 * Layout (little-endian):
 *   "FMCLCKPT" magic (8 bytes), u32 format version, u32 reserved (0)
 *   u64 model hash (fm_config_model_hash), u64 step, u64 optimizer steps
 *   u32 config length, then the resolved config as JSON text
 *   u32 data dimension, u32 layers, then per layer u32 inputs, u32 outputs
 *   u64 flat size (floats), then the parameters as f32
 *   u32 has optimizer state, then 2 x flat size f32 (Adam m, v) when set
 *   u32 has EMA weights, then flat size f32 when set
 *   u32 standardized dimensions (0 or the data dimension), then that many f64 means and
 *   f64 standard deviations
 *   (version 4) u32 length, then the data's column names as a JSON list of strings (0: none)
 *   (version 5) u32 ranks that trained it (MPI; 1 without)
 *   u32 CRC-32 of every byte before it
 * Version 3 and 4 files (without column names, without ranks) are read too.
 * The random-number state is (seed, step): the generator is counter-based.
 * Files are written to a temporary name and renamed, so a reader sees the old file or the
 * new one, never a torn one. */
#ifndef FMCL_CHECKPOINT_H
#define FMCL_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "fmcl/config.h"
#include "fmcl/status.h"

#define FM_CHECKPOINT_VERSION 5

typedef struct fm_checkpoint {
  fm_config config; /* the config the model was trained with */
  uint64_t model_hash;
  uint64_t step;       /* training steps done */
  uint64_t optim_steps;
  int dim;
  int n_layers;
  int layer_in[FM_MAX_HIDDEN + 1], layer_out[FM_MAX_HIDDEN + 1];
  size_t flat_size;
  float *params;      /* (flat_size) */
  float *optim_state; /* (2 flat_size) or NULL */
  float *ema;         /* (flat_size): the EMA of the weights, or NULL */
  double *mean, *std; /* (dim) each: the data's standardization, or NULL */
  char **columns;     /* (dim): the data's column names from its file's header, or NULL */
  int ranks;          /* the ranks that trained it (a resume with another number differs in
                         rounding); 1 for files of format 4 and older */
} fm_checkpoint;

fm_status fm_checkpoint_save(const char *path, const fm_checkpoint *ck);

/* Reads and verifies a checkpoint; a damaged, truncated, foreign or newer file is refused
 * with a message that says which. Free with fm_checkpoint_free. */
fm_status fm_checkpoint_load(const char *path, fm_checkpoint *out);

/* The same from the bytes of a file; path names it in messages. */
fm_status fm_checkpoint_parse(const unsigned char *data, size_t size, const char *path,
                              fm_checkpoint *out);

void fm_checkpoint_free(fm_checkpoint *ck);

#endif
