/* Files in and out. Output files are written to "<path>.tmp", flushed to disk and renamed
 * over <path>, so a reader never sees a half-written file and a failed write never destroys
 * the old one; input files are read whole, with errors that name the file and its role. */
#ifndef FMCL_FILEIO_H
#define FMCL_FILEIO_H

#include <stddef.h>
#include <stdint.h>
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

/* Writes text and a final newline to path, atomically as above. */
fm_status fm_write_text(const char *path, const char *text);

/* Writes a cJSON document formatted to path, atomically; the caller keeps the document. */
struct cJSON;
fm_status fm_write_json(const char *path, const struct cJSON *json);

/* Reads a whole file into *data (malloc'd, with a '\0' after the last byte) and its
 * length into *size. what names the file in errors ("checkpoint", "data file"); failures
 * to open or read return fail_as; a file of more than max_bytes (a whole number of MiB, or
 * SIZE_MAX) is refused. */
fm_status fm_read_whole(const char *path, const char *what, fm_status fail_as, size_t max_bytes,
                        char **data, size_t *size);

/* An IEEE binary16 value (float16: NPY's f2, safetensors' F16) as a float. */
float fm_half_to_float(uint16_t h);

/* Whether a file or folder exists at path. */
int fm_path_exists(const char *path);

/* Where a command writes the output file `path` without losing an earlier one: path itself
 * when it does not exist, or with overwrite; else for a default path (one the user did not
 * name) the first free "<stem>-2<ext>", "<stem>-3<ext>", ...; an existing path the user
 * named is FM_ERR_CONFIG, saying how to keep or replace it (`option` names where it was
 * given, e.g. "--out"). */
fm_status fm_output_file(const char *path, int named, int overwrite, const char *option,
                         char *out, size_t size);

/* Creates a folder and its parents (like mkdir -p). */
fm_status fm_make_dirs(const char *path);

/* CRC-32 (IEEE 802.3) by zlib, continuing from crc (0 to start): the checksum of
 * checkpoints and of cached kernel binaries. */
uint32_t fm_crc32(uint32_t crc, const void *data, size_t n);

#endif
