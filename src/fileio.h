/* Output files are written to "<path>.tmp", flushed to disk and renamed over <path>, so a
 * reader never sees a half-written file and a failed write never destroys the old one. */
#ifndef FMCL_FILEIO_H
#define FMCL_FILEIO_H

#include <stdio.h>

#include "fmcl/status.h"

typedef struct fm_file {
  FILE *f;
  char path[1024];
  char tmp[1040];
} fm_file;

fm_status fm_file_begin(fm_file *file, const char *path, const char *mode);
/* Flushes, syncs and renames; on any failure removes the temporary file. */
fm_status fm_file_commit(fm_file *file);
/* Gives up: closes and removes the temporary file (safe after a failed begin or commit). */
void fm_file_abort(fm_file *file);

/* Creates a folder and its parents (like mkdir -p). */
fm_status fm_make_dirs(const char *path);

#endif
