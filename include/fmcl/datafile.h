/* Data files: one point per row, from CSV (with or without a header row) or NPY
 * (float32 or float64, C order, shape (n, d) or (n,)). Every problem is an error naming
 * the file, and the row and column where there is one. */
#ifndef FMCL_DATAFILE_H
#define FMCL_DATAFILE_H

#include <stddef.h>

#include "fmcl/data.h"
#include "fmcl/status.h"
#include "fmcl/types.h"

/* Reads a file into points (labels all 0). AUTO picks NPY by the magic bytes, else CSV. */
fm_status fm_datafile_load(const char *path, fm_data_format format, fm_points *out);

/* The same from bytes already in memory; name stands for the file in messages. */
fm_status fm_datafile_parse(const unsigned char *data, size_t size, const char *name,
                            fm_data_format format, fm_points *out);

/* Moves column `column` (from 0) of points read from a file into their labels: each value
 * must be a whole number >= 0 (an error names the file, row and column otherwise); the
 * points lose that coordinate. name stands for the file in messages. */
fm_status fm_datafile_take_labels(fm_points *points, int column, const char *name);

#endif
