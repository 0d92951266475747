/* IDX files (the MNIST family's format: a magic number naming the value type, big-endian
 * dimensions, big-endian values), plain or gzip-compressed, and gzip streams in general.
 * Every problem is an error naming the file. */
#ifndef FMCL_IDX_H
#define FMCL_IDX_H

#include <stddef.h>

#include "fmcl/data.h"
#include "fmcl/status.h"

/* Whether bytes start as a gzip stream (1F 8B) or an IDX file (00 00, a type, dimensions). */
int fm_is_gzip(const unsigned char *data, size_t size);
int fm_is_idx(const unsigned char *data, size_t size);

/* Inflates a whole gzip stream (members one after another, as gzip writes them) into a
 * malloc'd buffer *out of *out_size bytes (with a '\0' after them), refusing more than
 * max_bytes. name stands for the file in messages. */
fm_status fm_gunzip(const unsigned char *data, size_t size, const char *name, size_t max_bytes,
                    unsigned char **out, size_t *out_size);

/* An IDX file's array as points: dimension 0 counts the points, the others (flattened, row
 * major) are each point's coordinates (one for a 1-D file such as labels). Labels are 0. */
fm_status fm_idx_parse(const unsigned char *data, size_t size, const char *name,
                       fm_points *out);

#endif
