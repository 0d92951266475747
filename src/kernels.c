/* Program table: which cl/ files make up each program. The constants the host shares
 * (include/fmcl/constants.h) and shared helpers (the random number generator, the tree
 * reductions) are prepended as source, so every program stays one self-contained unit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "internal.h"
#include "kernels.h"

typedef struct program_files {
  const char *program;
  const char *files[6];
  const char *options;
} program_files;

static const program_files programs[] = {
    {"buffer", {"buffer", NULL}, ""},
    {"rng", {"rng", NULL}, ""},
    {"path", {"rng", "path", NULL}, ""},
    {"auction", {"auction", NULL}, ""},
    {"mlp", {"activation", "reduce", "mlp", "mlp_thin", NULL}, ""},
    {"loss", {"reduce", "loss", NULL}, ""},
    {"optim", {"reduce", "optim", NULL}, ""},
    {"solver", {"reduce", "solver", NULL}, ""},
    {"likelihood", {"rng", "likelihood", NULL}, ""},
    /* Products tolerate fused multiply-adds (a rounding difference, not an error). */
    {"gemm", {"activation", "gemm", NULL}, "-cl-mad-enable"},
    {"gemm_gpu", {"activation", "reduce", "gemm_gpu", NULL}, "-cl-mad-enable"},
    {"bench", {"bench", NULL}, "-cl-mad-enable"},
};

int fm_kernels_program_count(void) { return (int)FM_ARRAY_LEN(programs); }

const char *fm_kernels_program_name(int i) { return programs[i].program; }

static const char *embedded_source(const char *file) {
  for (const fm_kernel_source *k = fm_embedded_kernels; k->name; k++)
    if (strcmp(k->name, file) == 0) return k->source;
  return NULL;
}

/* Reads dir/file.cl into a malloc'd string. */
static fm_status read_kernel_file(const char *dir, const char *file, char **out) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s.cl", dir, file);
  size_t len = 0;
  fm_status st = fm_read_whole(path, "kernel file", FM_ERR_IO, SIZE_MAX, out, &len);
  if (st != FM_OK) {
    char hint[1200];
    snprintf(hint, sizeof hint, "FMCL_KERNEL_DIR=%s (unset it to use the embedded kernels): ", dir);
    fm_error_prepend(hint);
  }
  return st;
}

const char *fm_kernels_program_options(const char *program) {
  for (size_t i = 0; i < FM_ARRAY_LEN(programs); i++)
    if (strcmp(programs[i].program, program) == 0) return programs[i].options;
  return "";
}

fm_status fm_kernels_program_source(const char *program, char **source, char *origin,
                                    size_t origin_size) {
  const program_files *p = NULL;
  for (size_t i = 0; i < FM_ARRAY_LEN(programs); i++)
    if (strcmp(programs[i].program, program) == 0) p = &programs[i];
  if (!p) return fm_fail(FM_ERR_INVALID, "no kernel program named '%s'", program);

  const char *dir = getenv("FMCL_KERNEL_DIR");
  if (dir && !*dir) dir = NULL;
  const char *constants = embedded_source("constants");
  FM_ASSERT(constants != NULL);
  /* FMCL_JOINED: the files' own includes (for a compiler given one file alone) stand aside. */
  static const char joined_mark[] = "#define FMCL_JOINED 1\n";
  size_t len = strlen(joined_mark) + strlen(constants);
  char *joined = malloc(len + 2);
  if (!joined) return fm_fail(FM_ERR_NOMEM, "out of host memory joining kernel sources");
  snprintf(joined, len + 1, "%s%s", joined_mark, constants);
  joined[len++] = '\n';
  joined[len] = '\0';
  origin[0] = '\0';
  for (int i = 0; p->files[i]; i++) {
    char *owned = NULL;
    const char *text;
    if (dir) {
      fm_status st = read_kernel_file(dir, p->files[i], &owned);
      if (st != FM_OK) {
        free(joined);
        return st;
      }
      text = owned;
    } else {
      text = embedded_source(p->files[i]);
      FM_ASSERT(text != NULL);
    }
    /* A #line directive makes build logs name the file and line a message refers to. */
    char line[1100];
    int line_len = snprintf(line, sizeof line, "#line 1 \"%s/%s.cl\"\n", dir ? dir : "cl",
                            p->files[i]);
    size_t n = strlen(text);
    char *grown = realloc(joined, len + (size_t)line_len + n + 2);
    if (!grown) {
      free(owned);
      free(joined);
      return fm_fail(FM_ERR_NOMEM, "out of host memory joining kernel sources");
    }
    joined = grown;
    memcpy(joined + len, line, (size_t)line_len);
    len += (size_t)line_len;
    memcpy(joined + len, text, n);
    len += n;
    joined[len++] = '\n';
    joined[len] = '\0';
    free(owned);
    size_t used = strlen(origin);
    snprintf(origin + used, origin_size - used, "%s%s/%s.cl", i ? " + " : "", dir ? dir : "cl",
             p->files[i]);
  }
  size_t used = strlen(origin);
  snprintf(origin + used, origin_size - used, dir ? " (from disk)" : " (embedded)");
  *source = joined;
  return FM_OK;
}
