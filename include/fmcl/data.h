/* Data sets: the toy distributions of FFJORD (Grathwohl et al., 2019), generated from a
 * seed, as points on the host; the trainer copies the training split to the device once. */
#ifndef FMCL_DATA_H
#define FMCL_DATA_H

#include <stdint.h>

#include "fmcl/status.h"
#include "fmcl/types.h"

/* Points, one per row: x is (n, dim), label is (n) (the mixture component or class, 0 when
 * the set has none), names (dim) the columns' names from a file's header (NULL without
 * one). Plain data: free with fm_points_free. */
typedef struct fm_points {
  float *x;
  int *label;
  int n, dim;
  char **names;
} fm_points;

/* dst->names = copies of names (dim of them; NULL names: none). */
fm_status fm_points_set_names(fm_points *dst, const char *const *names, int dim);

/* n points of the named toy set, a pure function of (name, seed, stream, n). stream keeps
 * the training and the held-out split apart (FM_STREAM_DATA_TRAIN, FM_STREAM_DATA_TEST). */
fm_status fm_toy_generate(const char *name, uint64_t seed, uint32_t stream, int n,
                          fm_points *out);

void fm_points_free(fm_points *p);

/* Shuffles the rows with a seeded permutation and puts the last round(fraction n) of them
 * into test, the rest into train (both new copies). */
fm_status fm_points_split(const fm_points *all, double test_fraction, uint64_t seed,
                          fm_points *train, fm_points *test);

/* Per-column mean and standard deviation (arrays of dim); a constant column gets std 1, so
 * standardizing leaves it centred rather than dividing by zero. */
fm_status fm_points_stats(const fm_points *p, double *mean, double *std);

/* x = (x - mean) / std in place, and its inverse for n rows of x (n, dim). */
void fm_points_standardize(float *x, int n, int dim, const double *mean, const double *std);
void fm_points_unstandardize(float *x, int n, int dim, const double *mean, const double *std);

/* Writes points as CSV with a header row (their names, or x0,x1,...[,label]); the label
 * column if with_label. */
fm_status fm_points_write_csv(const fm_points *p, const char *path, int with_label);

#endif
