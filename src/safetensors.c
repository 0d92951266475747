/* Writing a model as safetensors: the header through cJSON, the weights from the flat
 * layout (fm_flat_layout) in the order and shapes of a PyTorch nn.Sequential. */
#include "fmcl/safetensors.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "fmcl/flat.h"
#include "fmcl/types.h"
#include "internal.h"

/* The metadata value of a JSON item: its unformatted text. */
static int add_json(cJSON *meta, const char *key, cJSON *value) {
  char *text = value ? cJSON_PrintUnformatted(value) : NULL;
  cJSON_Delete(value);
  if (!text) return 0;
  int ok = cJSON_AddStringToObject(meta, key, text) != NULL;
  free(text);
  return ok;
}

static cJSON *doubles(const double *v, int n) {
  if (!v) return cJSON_CreateNull();
  cJSON *a = cJSON_CreateArray();
  for (int i = 0; a && i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber(v[i]));
  return a;
}

static cJSON *metadata(const fm_checkpoint *ck, int raw) {
  const fm_config *c = &ck->config;
  cJSON *meta = cJSON_CreateObject();
  if (!meta) return NULL;
  cJSON *hidden = cJSON_CreateIntArray(c->model.hidden, c->model.n_hidden);
  cJSON *columns = cJSON_CreateArray();
  for (int d = 0; columns && ck->columns && d < ck->dim; d++)
    cJSON_AddItemToArray(columns, cJSON_CreateString(ck->columns[d]));
  char *config = fm_config_to_json(c);
  char input[256];
  snprintf(input, sizeof input, "[x (dim), t, sin(2 pi k t), cos(2 pi k t) for k = 1..time_features, "
           "one-hot class (classes; all zero for the null class)]");
  int ok = add_json(meta, "dim", cJSON_CreateNumber(ck->dim)) && add_json(meta, "hidden", hidden) &&
           cJSON_AddStringToObject(meta, "activation", fm_activation_name(c->model.activation)) &&
           add_json(meta, "time_features", cJSON_CreateNumber(c->model.time_features)) &&
           add_json(meta, "classes", cJSON_CreateNumber(c->model.classes)) &&
           add_json(meta, "residual", cJSON_CreateBool(c->model.residual)) &&
           cJSON_AddStringToObject(meta, "input", input) &&
           add_json(meta, "mean", doubles(ck->mean, ck->dim)) &&
           add_json(meta, "std", doubles(ck->std, ck->dim)) &&
           add_json(meta, "columns", ck->columns ? columns : (cJSON_Delete(columns), cJSON_CreateNull())) &&
           cJSON_AddStringToObject(meta, "weights", raw || !ck->ema ? "raw" : "ema") &&
           cJSON_AddStringToObject(meta, "fmcl_version", FMCL_VERSION) && config &&
           cJSON_AddStringToObject(meta, "config", config);
  free(config);
  if (!ok) {
    cJSON_Delete(meta);
    return NULL;
  }
  return meta;
}

/* Adds tensor name of shape (rows, cols) (cols 0: a vector) at *offset bytes. */
static int add_tensor(cJSON *header, const char *name, int rows, int cols, size_t *offset) {
  cJSON *t = cJSON_AddObjectToObject(header, name);
  if (!t || !cJSON_AddStringToObject(t, "dtype", "F32")) return 0;
  int shape[2] = {rows, cols};
  cJSON *s = cJSON_CreateIntArray(shape, cols ? 2 : 1);
  size_t bytes = (size_t)rows * (size_t)(cols ? cols : 1) * 4;
  double ends[2] = {(double)*offset, (double)(*offset + bytes)};
  cJSON *o = cJSON_CreateDoubleArray(ends, 2);
  if (!s || !o) {
    cJSON_Delete(s), cJSON_Delete(o);
    return 0;
  }
  cJSON_AddItemToObject(t, "shape", s);
  cJSON_AddItemToObject(t, "data_offsets", o);
  *offset += bytes;
  return 1;
}

/* count floats as little-endian bytes. */
static int write_floats(FILE *f, const float *v, size_t count) {
  unsigned char b[4];
  for (size_t i = 0; i < count; i++) {
    uint32_t u;
    memcpy(&u, &v[i], 4);
    for (int k = 0; k < 4; k++) b[k] = (unsigned char)(u >> (8 * k));
    if (fwrite(b, 1, 4, f) != 4) return 0;
  }
  return 1;
}

fm_status fm_safetensors_export(const fm_checkpoint *ck, int raw, const char *path) {
  fm_status st = FM_OK;
  const float *weights = raw || !ck->ema ? ck->params : ck->ema;
  size_t w_off[FM_MAX_HIDDEN + 1], b_off[FM_MAX_HIDDEN + 1];
  size_t flat = fm_flat_layout(ck->n_layers, ck->layer_in, ck->layer_out, w_off, b_off);
  if (flat != ck->flat_size)
    return fm_fail(FM_ERR_FORMAT, "export: the checkpoint's %zu parameters do not fit its layer "
                   "shapes (%zu)", ck->flat_size, flat);
  cJSON *header = cJSON_CreateObject(), *meta = metadata(ck, raw);
  char *text = NULL;
  if (!header || !meta) {
    cJSON_Delete(header);
    cJSON_Delete(meta);
    return fm_fail(FM_ERR_NOMEM, "export: out of host memory");
  }
  cJSON_AddItemToObject(header, "__metadata__", meta); /* the header owns it now */
  size_t offset = 0;
  for (int l = 0; l < ck->n_layers; l++) {
    char name[32];
    snprintf(name, sizeof name, "%d.weight", 2 * l);
    if (!add_tensor(header, name, ck->layer_out[l], ck->layer_in[l], &offset)) goto nomem;
    snprintf(name, sizeof name, "%d.bias", 2 * l);
    if (!add_tensor(header, name, ck->layer_out[l], 0, &offset)) goto nomem;
  }
  text = cJSON_PrintUnformatted(header);
  if (!text) goto nomem;
  /* The header is padded with spaces to a multiple of 8 bytes, so the data is aligned. */
  size_t len = strlen(text), padded = (len + 7) / 8 * 8;
  fm_file f;
  FM_TRY(fm_file_begin(&f, path, "wb"));
  unsigned char size_le[8];
  for (int k = 0; k < 8; k++) size_le[k] = (unsigned char)((uint64_t)padded >> (8 * k));
  int ok = fwrite(size_le, 1, 8, f.f) == 8 && fwrite(text, 1, len, f.f) == len;
  for (size_t k = len; ok && k < padded; k++) ok = fputc(' ', f.f) != EOF;
  for (int l = 0; ok && l < ck->n_layers; l++)
    ok = write_floats(f.f, weights + w_off[l], (size_t)ck->layer_out[l] * (size_t)ck->layer_in[l]) &&
         write_floats(f.f, weights + b_off[l], (size_t)ck->layer_out[l]);
  if (!ok) {
    fm_file_abort(&f);
    st = fm_fail(FM_ERR_IO, "export: cannot write %s (disk full?)", path);
    goto fail;
  }
  FM_TRY(fm_file_commit(&f));
fail:
  free(text);
  cJSON_Delete(header);
  return st;
nomem:
  free(text);
  cJSON_Delete(header);
  return fm_fail(FM_ERR_NOMEM, "export: out of host memory");
}

/* Reading: the header's tensors, checked against the file and against a model's layers. */

typedef struct tensor {
  const char *name;
  int used; /* taken by a layer */
  int dtype_bytes; /* 2, 4 or 8 */
  char dtype[8];
  size_t dims[4];
  int rank;
  size_t begin, end; /* in the data after the header */
} tensor;

/* By offset, an empty tensor before one that starts where it does. */
static int by_begin(const void *a, const void *b) {
  const tensor *x = a, *y = b;
  if (x->begin != y->begin) return (x->begin > y->begin) - (x->begin < y->begin);
  return (x->end > y->end) - (x->end < y->end);
}

static int dtype_bytes(const char *dtype) {
  if (strcmp(dtype, "F32") == 0) return 4;
  if (strcmp(dtype, "F64") == 0) return 8;
  if (strcmp(dtype, "F16") == 0 || strcmp(dtype, "BF16") == 0) return 2;
  return 0;
}

/* A whole non-negative number of a JSON item, or -1. */
static double whole(const cJSON *v) {
  if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 9.0e15 ||
      v->valuedouble != (double)(long long)v->valuedouble)
    return -1;
  return v->valuedouble;
}

/* The header of a file: its JSON (*header) and its tensors, each checked (a known dtype, a
 * shape whose bytes are what its offsets span) and together covering the data without
 * overlaps or holes. */
static fm_status read_header(const unsigned char *data, size_t size, const char *name,
                             cJSON **header, tensor **out, int *count, size_t *data_at) {
  *header = NULL, *out = NULL, *count = 0;
  if (size < 8)
    return fm_fail(FM_ERR_FORMAT, "%s: %zu bytes, not a safetensors file (it starts with an "
                   "8-byte header length)", name, size);
  uint64_t len = 0;
  for (int k = 7; k >= 0; k--) len = len << 8 | data[k];
  if (len > size - 8 || len < 2)
    return fm_fail(FM_ERR_FORMAT, "%s: a header of %llu bytes in a file of %zu: the file is "
                   "truncated or not safetensors", name, (unsigned long long)len, size);
  cJSON *h = cJSON_ParseWithLength((const char *)data + 8, (size_t)len);
  if (!cJSON_IsObject(h)) {
    cJSON_Delete(h);
    return fm_fail(FM_ERR_FORMAT, "%s: the header is not a JSON object: the file is damaged or "
                   "not safetensors", name);
  }
  size_t body = size - 8 - (size_t)len;
  int n = 0;
  for (cJSON *e = h->child; e; e = e->next) n += strcmp(e->string, "__metadata__") != 0;
  tensor *t = calloc((size_t)(n > 0 ? n : 1), sizeof *t);
  if (!t) {
    cJSON_Delete(h);
    return fm_fail(FM_ERR_NOMEM, "out of host memory reading %s", name);
  }
  fm_status st = FM_OK;
  int i = 0;
  for (cJSON *e = h->child; e; e = e->next) {
    if (strcmp(e->string, "__metadata__") == 0) {
      if (!cJSON_IsObject(e)) {
        st = fm_fail(FM_ERR_FORMAT, "%s: __metadata__ is not an object of strings", name);
        goto fail;
      }
      continue;
    }
    tensor *x = &t[i++];
    x->name = e->string;
    cJSON *dtype = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    cJSON *shape = cJSON_GetObjectItemCaseSensitive(e, "shape");
    cJSON *offs = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    if (!cJSON_IsString(dtype) || !cJSON_IsArray(shape) || !cJSON_IsArray(offs) ||
        cJSON_GetArraySize(offs) != 2) {
      st = fm_fail(FM_ERR_FORMAT, "%s: tensor %s needs a dtype, a shape and two data_offsets",
                   name, x->name);
      goto fail;
    }
    x->dtype_bytes = dtype_bytes(dtype->valuestring);
    if (!x->dtype_bytes) {
      st = fm_fail(FM_ERR_FORMAT, "%s: tensor %s has dtype %s; fmcl reads F32, F64, F16 and "
                   "BF16 weights", name, x->name, dtype->valuestring);
      goto fail;
    }
    fm_strlcpy(x->dtype, dtype->valuestring, sizeof x->dtype);
    x->rank = cJSON_GetArraySize(shape);
    if (x->rank > 4) {
      st = fm_fail(FM_ERR_FORMAT, "%s: tensor %s has %d dimensions; a model's weights have 1 or 2",
                   name, x->name, x->rank);
      goto fail;
    }
    double elems = 1;
    for (int d = 0; d < x->rank; d++) {
      double v = whole(cJSON_GetArrayItem(shape, d));
      if (v < 0) {
        st = fm_fail(FM_ERR_FORMAT, "%s: tensor %s: its shape holds something other than "
                     "whole numbers", name, x->name);
        goto fail;
      }
      x->dims[d] = (size_t)v;
      elems *= v;
    }
    double b = whole(cJSON_GetArrayItem(offs, 0)), end = whole(cJSON_GetArrayItem(offs, 1));
    if (b < 0 || end < b || end > (double)body) {
      st = fm_fail(FM_ERR_FORMAT, "%s: tensor %s's data_offsets [%g, %g] are not within the "
                   "%zu bytes after the header: the file is truncated or damaged", name, x->name,
                   b, end, body);
      goto fail;
    }
    x->begin = (size_t)b, x->end = (size_t)end;
    if (elems * x->dtype_bytes != end - b) {
      st = fm_fail(FM_ERR_FORMAT, "%s: tensor %s: its shape needs %.0f bytes of %s, its "
                   "data_offsets span %.0f", name, x->name, elems * x->dtype_bytes, x->dtype,
                   end - b);
      goto fail;
    }
  }
  qsort(t, (size_t)n, sizeof *t, by_begin);
  size_t at = 0;
  for (int k = 0; k < n; k++) {
    if (t[k].begin != at) {
      st = fm_fail(FM_ERR_FORMAT, "%s: tensor %s starts at byte %zu where %zu was expected: the "
                   "tensors %s", name, t[k].name, t[k].begin, at,
                   t[k].begin < at ? "overlap" : "leave a hole");
      goto fail;
    }
    at = t[k].end;
  }
  if (at != body) {
    st = fm_fail(FM_ERR_FORMAT, "%s: %zu bytes after the last tensor: the file is damaged",
                 name, body - at);
    goto fail;
  }
  *header = h, *out = t, *count = n, *data_at = 8 + (size_t)len;
  return FM_OK;
fail:
  free(t);
  cJSON_Delete(h);
  return st;
}

static float half_to_float(uint16_t h, int bf16) {
  if (!bf16) return fm_half_to_float(h);
  uint32_t u = (uint32_t)h << 16; /* bfloat16: the top half of a float */
  float f;
  memcpy(&f, &u, 4);
  return f;
}

/* count values of t into dst as floats. */
static void convert(const unsigned char *src, const tensor *t, size_t count, float *dst) {
  for (size_t i = 0; i < count; i++) {
    const unsigned char *p = src + i * (size_t)t->dtype_bytes;
    uint64_t u = 0;
    for (int k = t->dtype_bytes - 1; k >= 0; k--) u = u << 8 | p[k];
    if (t->dtype_bytes == 4) {
      uint32_t v = (uint32_t)u;
      memcpy(&dst[i], &v, 4);
    } else if (t->dtype_bytes == 8) {
      double d;
      memcpy(&d, &u, 8);
      dst[i] = (float)d;
    } else {
      dst[i] = half_to_float((uint16_t)u, strcmp(t->dtype, "BF16") == 0);
    }
  }
}

fm_status fm_safetensors_parse_weights(const unsigned char *data, size_t size, const char *name,
                                       int n_layers, const int *in, const int *out, float *flat) {
  cJSON *h = NULL;
  tensor *t = NULL;
  int n = 0;
  size_t data_at = 0;
  fm_status st = read_header(data, size, name, &h, &t, &n, &data_at);
  if (st != FM_OK) return st;
  size_t w_off[FM_MAX_HIDDEN + 1], b_off[FM_MAX_HIDDEN + 1];
  size_t flat_size = fm_flat_layout(n_layers, in, out, w_off, b_off);
  memset(flat, 0, flat_size * sizeof *flat);
  for (int l = 0; l < n_layers && st == FM_OK; l++)
    for (int part = 0; part < 2 && st == FM_OK; part++) {
      char want[32];
      snprintf(want, sizeof want, "%d.%s", 2 * l, part ? "bias" : "weight");
      tensor *x = NULL;
      for (int k = 0; k < n && !x; k++)
        if (strcmp(t[k].name, want) == 0) x = &t[k];
      int rank = part ? 1 : 2;
      size_t rows = (size_t)out[l], cols = part ? 1 : (size_t)in[l];
      if (!x) {
        st = fm_fail(FM_ERR_FORMAT, "%s: no tensor %s; this model (%d linear layers) takes 0.weight, "
                     "0.bias, 2.weight, ... as a PyTorch nn.Sequential of Linear and activation "
                     "modules names them", name, want, n_layers);
      } else if (x->rank != rank || x->dims[0] != rows || (!part && x->dims[1] != cols)) {
        char shape[64], has[96];
        if (part) snprintf(shape, sizeof shape, "[%zu]", rows);
        else snprintf(shape, sizeof shape, "[%zu, %zu]", rows, cols);
        int at = snprintf(has, sizeof has, "[");
        for (int d = 0; d < x->rank; d++)
          at += snprintf(has + at, sizeof has - (size_t)at, "%s%zu", d ? ", " : "", x->dims[d]);
        snprintf(has + at, sizeof has - (size_t)at, "]");
        st = fm_fail(FM_ERR_FORMAT, "%s: tensor %s has shape %s, this model's is %s "
                     "(model.hidden, model.time_features, model.classes and the data's "
                     "dimension make it)", name, want, has, shape);
      } else {
        float *dst = flat + (part ? b_off[l] : w_off[l]);
        convert(data + data_at + x->begin, x, rows * cols, dst);
        for (size_t i = 0; i < rows * cols && st == FM_OK; i++)
          if (!isfinite(dst[i]))
            st = fm_fail(FM_ERR_FORMAT, "%s: tensor %s holds a NaN or infinite value at %zu",
                         name, want, i);
        x->used = 1;
      }
    }
  /* Every tensor must be one of the model's, once (cJSON keeps a repeated name twice). */
  for (int k = 0; k < n && st == FM_OK; k++)
    if (!t[k].used)
      st = fm_fail(FM_ERR_FORMAT, "%s: tensor %s is not part of this model (%d linear layers: "
                   "0.weight to %d.bias, each once)", name, t[k].name, n_layers,
                   2 * (n_layers - 1));
  free(t);
  cJSON_Delete(h);
  return st;
}

/* A metadata value: the string of key, or NULL. */
static const char *meta_string(const cJSON *meta, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(meta, key);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* dst (dim doubles, malloc'd) from a metadata JSON list; "null" or absent: NULL. */
static fm_status meta_doubles(const cJSON *meta, const char *key, int dim, const char *name,
                              double **dst) {
  *dst = NULL;
  const char *text = meta_string(meta, key);
  cJSON *v = text ? cJSON_Parse(text) : NULL;
  fm_status st = FM_OK;
  if (!text || cJSON_IsNull(v)) goto done;
  if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != dim) {
    st = fm_fail(FM_ERR_FORMAT, "%s: metadata %s is not a list of %d numbers", name, key, dim);
    goto done;
  }
  *dst = malloc((size_t)dim * sizeof **dst);
  if (!*dst) {
    st = fm_fail(FM_ERR_NOMEM, "out of host memory reading %s", name);
    goto done;
  }
  int d = 0;
  cJSON *x;
  cJSON_ArrayForEach(x, v) { /* in one pass: cJSON's lists are linked */
    if (!cJSON_IsNumber(x) || !isfinite(x->valuedouble) ||
        (!strcmp(key, "std") && !(x->valuedouble > 0))) {
      st = fm_fail(FM_ERR_FORMAT, "%s: metadata %s[%d] is not a%s number", name, key, d,
                   strcmp(key, "std") ? "" : " positive");
      free(*dst);
      *dst = NULL;
      goto done;
    }
    (*dst)[d++] = x->valuedouble;
  }
done:
  cJSON_Delete(v);
  return st;
}

fm_status fm_safetensors_parse(const unsigned char *data, size_t size, const char *name,
                               fm_checkpoint *ck) {
  memset(ck, 0, sizeof *ck);
  cJSON *h = NULL;
  tensor *t = NULL;
  int n = 0;
  size_t data_at = 0;
  fm_status st = read_header(data, size, name, &h, &t, &n, &data_at);
  if (st != FM_OK) return st;
  free(t);
  const cJSON *meta = cJSON_GetObjectItemCaseSensitive(h, "__metadata__");
  const char *config = meta_string(meta, "config"), *dim_text = meta_string(meta, "dim");
  if (!config || !dim_text) {
    st = fm_fail(FM_ERR_FORMAT, "%s: no fmcl metadata (config, dim): fmcl samples from a model "
                 "file that describes its model, as fmcl export writes it; a file of weights "
                 "alone can start a training run (model.init_from)", name);
    goto fail;
  }
  fm_config_defaults(&ck->config);
  st = fm_config_parse(&ck->config, config, strlen(config), name);
  if (st != FM_OK) {
    fm_fail_context(st, "%s: metadata config: ", name);
    goto fail;
  }
  char *dim_end = NULL;
  long dim = strtol(dim_text, &dim_end, 10);
  ck->dim = dim >= 1 && dim <= 1 << 20 && *dim_end == '\0' ? (int)dim : 0;
  if (ck->dim < 1) {
    st = fm_fail(FM_ERR_FORMAT, "%s: metadata dim '%s' is not a dimension", name, dim_text);
    goto fail;
  }
  const fm_config *c = &ck->config;
  ck->n_layers = c->model.n_hidden + 1;
  for (int l = 0; l < ck->n_layers; l++) {
    ck->layer_in[l] = l == 0 ? ck->dim + 1 + 2 * c->model.time_features + c->model.classes
                             : c->model.hidden[l - 1];
    ck->layer_out[l] = l < c->model.n_hidden ? c->model.hidden[l] : ck->dim;
  }
  /* The described model's weights must fit the file (2 bytes each at the least) before
   * room is made for them. */
  double weights = 0;
  for (int l = 0; l < ck->n_layers; l++)
    weights += ((double)ck->layer_in[l] + 1) * (double)ck->layer_out[l];
  if (weights * 2 > (double)(size - data_at)) {
    st = fm_fail(FM_ERR_FORMAT, "%s: its metadata describes %.0f weights, more than its %zu "
                 "bytes of data hold", name, weights, size - data_at);
    goto fail;
  }
  ck->flat_size = fm_flat_layout(ck->n_layers, ck->layer_in, ck->layer_out, NULL, NULL);
  ck->params = malloc(ck->flat_size * sizeof *ck->params);
  if (!ck->params) {
    st = fm_fail(FM_ERR_NOMEM, "out of host memory reading %s", name);
    goto fail;
  }
  FM_TRY(fm_safetensors_parse_weights(data, size, name, ck->n_layers, ck->layer_in,
                                      ck->layer_out, ck->params));
  FM_TRY(meta_doubles(meta, "mean", ck->dim, name, &ck->mean));
  FM_TRY(meta_doubles(meta, "std", ck->dim, name, &ck->std));
  if ((ck->mean == NULL) != (ck->std == NULL)) {
    st = fm_fail(FM_ERR_FORMAT, "%s: metadata has a mean without a std, or a std without a "
                 "mean", name);
    goto fail;
  }
  const char *columns = meta_string(meta, "columns");
  cJSON *names = columns ? cJSON_Parse(columns) : NULL;
  if (cJSON_IsArray(names) && cJSON_GetArraySize(names) == ck->dim) {
    ck->columns = calloc((size_t)ck->dim, sizeof *ck->columns);
    int d = 0;
    cJSON *x;
    cJSON_ArrayForEach(x, names) {
      if (!ck->columns) break;
      ck->columns[d] = strdup(cJSON_IsString(x) ? x->valuestring : "");
      if (!ck->columns[d++]) st = fm_fail(FM_ERR_NOMEM, "out of host memory reading %s", name);
    }
    if (!ck->columns) st = fm_fail(FM_ERR_NOMEM, "out of host memory reading %s", name);
  }
  cJSON_Delete(names);
  if (st != FM_OK) goto fail;
  /* Where files go is the user's choice, not a downloaded file's. */
  ck->config.output.dir[0] = '\0';
  ck->model_hash = fm_config_model_hash(c);
  ck->ranks = 1;
  cJSON_Delete(h);
  return FM_OK;
fail:
  cJSON_Delete(h);
  fm_checkpoint_free(ck);
  return st;
}

fm_status fm_safetensors_load(const char *path, fm_checkpoint *out) {
  char *data = NULL;
  size_t size = 0;
  memset(out, 0, sizeof *out);
  fm_status st = fm_read_whole(path, "model file", FM_ERR_IO, SIZE_MAX, &data, &size);
  if (st != FM_OK) return st;
  st = fm_safetensors_parse((const unsigned char *)data, size, path, out);
  free(data);
  return st;
}

int fm_safetensors_is_named(const char *path) {
  size_t len = strlen(path);
  return len >= 12 && strcmp(path + len - 12, ".safetensors") == 0;
}
