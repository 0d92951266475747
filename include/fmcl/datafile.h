/* Data files: one point per row, from CSV (with or without a header row), NPY (every
 * numeric dtype, either byte order, C or Fortran order, shape (n, d) or (n,)) or an NPZ
 * archive of NPY arrays (numpy.savez, stored or deflated; through libzip). Every problem
 * is an error naming the file, and the row and column where there is one. */
#ifndef FMCL_DATAFILE_H
#define FMCL_DATAFILE_H

#include <stddef.h>

#include "fmcl/data.h"
#include "fmcl/status.h"
#include "fmcl/types.h"

/* Reads a file into points (labels all 0). AUTO picks NPY or NPZ by the magic bytes, else
 * CSV. key names the array of an NPZ archive (NULL or "": its only one). */
fm_status fm_datafile_load(const char *path, fm_data_format format, const char *key,
                           fm_points *out);

/* The same from bytes already in memory; name stands for the file in messages. */
fm_status fm_datafile_parse(const unsigned char *data, size_t size, const char *name,
                            fm_data_format format, const char *key, fm_points *out);

/* Whether NPZ archives can be read (fmcl was built with libzip). */
int fm_datafile_has_npz(void);

/* Moves column `column` (from 0) of points read from a file into their labels: each value
 * must be a whole number >= 0 (an error names the file, row and column otherwise); the
 * points lose that coordinate. name stands for the file in messages. */
fm_status fm_datafile_take_labels(fm_points *points, int column, const char *name);

#endif
