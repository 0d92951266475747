/* The entry points the fuzzers drive (tools/fuzz.sh) and the corpus replay test runs
 * (tests/test_fuzz_corpus.c): each takes arbitrary bytes, must never crash, and returns
 * the status it got. */
#ifndef FMCL_FUZZ_TARGETS_H
#define FMCL_FUZZ_TARGETS_H

#include <stddef.h>
#include <stdint.h>

#include "fmcl/status.h"

/* The bytes as a config file, and as a --set override. */
fm_status fuzz_config(const uint8_t *data, size_t size);

/* The bytes as a checkpoint file. */
fm_status fuzz_checkpoint(const uint8_t *data, size_t size);

/* The bytes as a data file (CSV or NPY by their first bytes). */
fm_status fuzz_datafile(const uint8_t *data, size_t size);

/* The bytes as a safetensors model file, whole and as the weights of a 2 -> 4 -> 2 model. */
fm_status fuzz_safetensors(const uint8_t *data, size_t size);

#endif
