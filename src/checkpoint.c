/* Checkpoint writing and verified reading. The whole file is read into memory and checked
 * (size, magic, version, checksum) before any field is trusted. */
#include "fmcl/checkpoint.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "fmcl/flat.h"
#include "internal.h"

static const char magic[8] = {'F', 'M', 'C', 'L', 'C', 'K', 'P', 'T'};

/* A writer that checksums what it writes. */
typedef struct writer {
  FILE *f;
  uint32_t crc;
  int failed;
} writer;

static void put(writer *w, const void *data, size_t n) {
  if (w->failed || n == 0) return;
  if (fwrite(data, 1, n, w->f) != n) w->failed = 1;
  w->crc = fm_crc32(w->crc, data, n);
}
static void put_u32(writer *w, uint32_t v) { put(w, &v, sizeof v); }
static void put_u64(writer *w, uint64_t v) { put(w, &v, sizeof v); }

fm_status fm_checkpoint_save(const char *path, const fm_checkpoint *ck) {
  fm_file file;
  fm_status st = fm_file_begin(&file, path, "wb");
  if (st != FM_OK) return fm_fail_context(st, "checkpoint: ");
  char *json = fm_config_to_json(&ck->config);
  if (!json) {
    fm_file_abort(&file);
    return fm_fail(FM_ERR_NOMEM, "checkpoint %s: out of memory", path);
  }
  writer w = {file.f, 0, 0};
  put(&w, magic, sizeof magic);
  put_u32(&w, FM_CHECKPOINT_VERSION);
  put_u32(&w, 0);
  put_u64(&w, ck->model_hash);
  put_u64(&w, ck->step);
  put_u64(&w, ck->optim_steps);
  uint32_t json_len = (uint32_t)strlen(json);
  put_u32(&w, json_len);
  put(&w, json, json_len);
  free(json);
  put_u32(&w, (uint32_t)ck->dim);
  put_u32(&w, (uint32_t)ck->n_layers);
  for (int l = 0; l < ck->n_layers; l++) {
    put_u32(&w, (uint32_t)ck->layer_in[l]);
    put_u32(&w, (uint32_t)ck->layer_out[l]);
  }
  put_u64(&w, ck->flat_size);
  put(&w, ck->params, ck->flat_size * sizeof(float));
  put_u32(&w, ck->optim_state ? 1u : 0u);
  if (ck->optim_state) put(&w, ck->optim_state, 2 * ck->flat_size * sizeof(float));
  put_u32(&w, ck->ema ? 1u : 0u);
  if (ck->ema) put(&w, ck->ema, ck->flat_size * sizeof(float));
  uint32_t stats = ck->mean && ck->std ? (uint32_t)ck->dim : 0u;
  put_u32(&w, stats);
  if (stats) {
    put(&w, ck->mean, stats * sizeof(double));
    put(&w, ck->std, stats * sizeof(double));
  }
  char *names = NULL;
  if (ck->columns) {
    cJSON *list = cJSON_CreateStringArray((const char *const *)ck->columns, ck->dim);
    names = list ? cJSON_PrintUnformatted(list) : NULL;
    cJSON_Delete(list);
    if (!names) {
      fm_file_abort(&file);
      return fm_fail(FM_ERR_NOMEM, "checkpoint %s: out of memory", path);
    }
  }
  uint32_t names_len = names ? (uint32_t)strlen(names) : 0u;
  put_u32(&w, names_len);
  put(&w, names, names_len);
  free(names);
  put_u32(&w, (uint32_t)(ck->ranks > 0 ? ck->ranks : 1));
  uint32_t crc = w.crc;
  put_u32(&w, crc);
  if (w.failed) {
    int err = errno;
    fm_file_abort(&file);
    return fm_fail(FM_ERR_IO, "checkpoint %s: write failed: %s (is the disk full?); the previous "
                   "checkpoint, if any, is unchanged", path, strerror(err ? err : EIO));
  }
  st = fm_file_commit(&file);
  return st == FM_OK ? FM_OK : fm_fail_context(st, "checkpoint: ");
}

/* A bounds-checked reader over the file's bytes. */
typedef struct reader {
  const unsigned char *p;
  size_t n, at;
  int short_read;
} reader;

static void get(reader *r, void *out, size_t n) {
  if (r->short_read || n > r->n - r->at) {
    r->short_read = 1;
    memset(out, 0, n);
    return;
  }
  memcpy(out, r->p + r->at, n);
  r->at += n;
}
static uint32_t get_u32(reader *r) {
  uint32_t v;
  get(r, &v, sizeof v);
  return v;
}
static uint64_t get_u64(reader *r) {
  uint64_t v;
  get(r, &v, sizeof v);
  return v;
}

/* The column names, a JSON list of ck->dim strings, into ck->columns; why they are not. */
static const char *read_columns(const char *text, size_t len, fm_checkpoint *ck) {
  cJSON *list = cJSON_ParseWithLength(text, len);
  const char *why = NULL;
  if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) != ck->dim) why = "bad column names";
  if (!why) {
    ck->columns = calloc((size_t)ck->dim, sizeof *ck->columns);
    if (!ck->columns) why = "out of memory for the column names";
  }
  for (int d = 0; !why && d < ck->dim; d++) {
    cJSON *item = cJSON_GetArrayItem(list, d);
    if (!cJSON_IsString(item) || !(ck->columns[d] = strdup(item->valuestring)))
      why = "bad column names";
  }
  cJSON_Delete(list);
  return why;
}

fm_status fm_checkpoint_load(const char *path, fm_checkpoint *ck) {
  memset(ck, 0, sizeof *ck);
  char *data = NULL;
  size_t size = 0;
  fm_status st = fm_read_whole(path, "checkpoint", FM_ERR_IO, SIZE_MAX, &data, &size);
  if (st != FM_OK) return st;
  st = fm_checkpoint_parse((const unsigned char *)data, size, path, ck);
  free(data);
  return st;
}

fm_status fm_checkpoint_parse(const unsigned char *data, size_t size, const char *path,
                              fm_checkpoint *ck) {
  memset(ck, 0, sizeof *ck);
  fm_status st = FM_OK;
  const char *why = NULL;
  if (size < sizeof magic || memcmp(data, magic, sizeof magic) != 0) {
    st = fm_fail(FM_ERR_FORMAT, "checkpoint %s: not an fmcl checkpoint (wrong magic bytes); pass "
                 "a model.fmck written by fmcl", path);
    goto done;
  }
  reader r = {data, size, sizeof magic, 0};
  uint32_t version = get_u32(&r);
  if (!r.short_read && (version < 3 || version > FM_CHECKPOINT_VERSION)) {
    st = fm_fail(FM_ERR_FORMAT, "checkpoint %s: format version %u, this fmcl reads versions 3 to "
                 "%d; use the fmcl that wrote it", path, version, FM_CHECKPOINT_VERSION);
    goto done;
  }
  if (size < r.at + 4 ||
      fm_crc32(0, data, size - 4) != (uint32_t)(data[size - 4] | data[size - 3] << 8 |
                                                data[size - 2] << 16 | (uint32_t)data[size - 1] << 24)) {
    st = fm_fail(FM_ERR_FORMAT, "checkpoint %s: checksum mismatch: the file is truncated or "
                 "damaged (%zu bytes); use an earlier copy or train again", path, size);
    goto done;
  }
  r.n = size - 4; /* the checksum is verified; the fields must end where it begins */
  get_u32(&r);
  ck->model_hash = get_u64(&r);
  ck->step = get_u64(&r);
  ck->optim_steps = get_u64(&r);
  uint32_t json_len = get_u32(&r);
  if (json_len > r.n - r.at) {
    why = "config length runs past the end";
    goto bad;
  }
  fm_config_defaults(&ck->config);
  st = fm_config_parse(&ck->config, (const char *)data + r.at, json_len, "checkpoint config");
  if (st != FM_OK) {
    fm_fail_context(FM_ERR_FORMAT, "checkpoint %s: its config is not valid for this fmcl: ", path);
    st = FM_ERR_FORMAT;
    goto done;
  }
  r.at += json_len;
  ck->dim = (int)get_u32(&r);
  uint32_t layers = get_u32(&r);
  if (layers < 2 || layers > FM_MAX_HIDDEN + 1) {
    why = "layer count out of range";
    goto bad;
  }
  ck->n_layers = (int)layers;
  for (uint32_t l = 0; l < layers; l++) {
    uint32_t in = get_u32(&r), out = get_u32(&r);
    if (in < 1 || out < 1 || in > (1u << 20) || out > (1u << 20) ||
        (l > 0 && (int)in != ck->layer_out[l - 1])) {
      why = "layer shapes out of range or not chained";
      goto bad;
    }
    ck->layer_in[l] = (int)in;
    ck->layer_out[l] = (int)out;
  }
  uint64_t flat = get_u64(&r);
  if (r.short_read || flat == 0 || flat > (r.n - r.at) / sizeof(float)) {
    why = "parameter count does not fit the file";
    goto bad;
  }
  if (flat != fm_flat_layout(ck->n_layers, ck->layer_in, ck->layer_out, NULL, NULL)) {
    why = "parameter count does not match the layer shapes";
    goto bad;
  }
  ck->flat_size = (size_t)flat;
  ck->params = malloc(ck->flat_size * sizeof(float));
  if (!ck->params) {
    st = fm_fail(FM_ERR_NOMEM, "checkpoint %s: out of memory", path);
    goto done;
  }
  get(&r, ck->params, ck->flat_size * sizeof(float));
  uint32_t has_optim = get_u32(&r);
  if (has_optim > 1) {
    why = "bad optimizer flag";
    goto bad;
  }
  if (has_optim) {
    if (ck->flat_size > (r.n - r.at) / (2 * sizeof(float))) {
      why = "optimizer state does not fit the file";
      goto bad;
    }
    ck->optim_state = malloc(2 * ck->flat_size * sizeof(float));
    if (!ck->optim_state) {
      st = fm_fail(FM_ERR_NOMEM, "checkpoint %s: out of memory", path);
      goto done;
    }
    get(&r, ck->optim_state, 2 * ck->flat_size * sizeof(float));
  }
  uint32_t has_ema = get_u32(&r);
  if (has_ema > 1 || (has_ema && ck->flat_size > (r.n - r.at) / sizeof(float))) {
    why = "bad EMA flag or size";
    goto bad;
  }
  if (has_ema) {
    ck->ema = malloc(ck->flat_size * sizeof(float));
    if (!ck->ema) {
      st = fm_fail(FM_ERR_NOMEM, "checkpoint %s: out of memory", path);
      goto done;
    }
    get(&r, ck->ema, ck->flat_size * sizeof(float));
  }
  uint32_t stats = get_u32(&r);
  if (stats != 0 && (stats != (uint32_t)ck->dim || stats > (r.n - r.at) / (2 * sizeof(double)))) {
    why = "standardization statistics do not match the data dimension";
    goto bad;
  }
  if (stats) {
    ck->mean = malloc(stats * sizeof(double));
    ck->std = malloc(stats * sizeof(double));
    if (!ck->mean || !ck->std) {
      st = fm_fail(FM_ERR_NOMEM, "checkpoint %s: out of memory", path);
      goto done;
    }
    get(&r, ck->mean, stats * sizeof(double));
    get(&r, ck->std, stats * sizeof(double));
    for (uint32_t d = 0; d < stats; d++)
      if (!(ck->std[d] > 0) || !isfinite(ck->mean[d]) || !isfinite(ck->std[d])) {
        why = "a standardization statistic is not finite and positive";
        goto bad;
      }
  }
  if (version >= 4) {
    uint32_t names_len = get_u32(&r);
    if (names_len > r.n - r.at) {
      why = "column names run past the end";
      goto bad;
    }
    if (names_len) {
      if ((why = read_columns((const char *)data + r.at, names_len, ck)) != NULL) goto bad;
      r.at += names_len;
    }
  }
  ck->ranks = 1;
  if (version >= 5) {
    uint32_t ranks = get_u32(&r);
    if (!r.short_read && (ranks < 1 || ranks > 1u << 20)) {
      why = "the number of ranks is out of range";
      goto bad;
    }
    ck->ranks = (int)ranks;
  }
  if (r.short_read || r.at != r.n) {
    why = r.short_read ? "fields run past the end" : "unexpected bytes after the last field";
    goto bad;
  }
  st = FM_OK;
  goto done;
bad:
  st = fm_fail(FM_ERR_FORMAT, "checkpoint %s: inconsistent contents (%s) although the checksum "
               "matches; it was not written by this version of fmcl", path, why);
done:
  if (st != FM_OK) fm_checkpoint_free(ck);
  return st;
}

void fm_checkpoint_free(fm_checkpoint *ck) {
  if (!ck) return;
  free(ck->params);
  free(ck->optim_state);
  free(ck->ema);
  free(ck->mean);
  free(ck->std);
  for (int d = 0; ck->columns && d < ck->dim; d++) free(ck->columns[d]);
  free(ck->columns);
  ck->params = NULL;
  ck->optim_state = NULL;
  ck->ema = NULL;
  ck->mean = ck->std = NULL;
  ck->columns = NULL;
}
