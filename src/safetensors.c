/* Writing a model as safetensors: the header through cJSON, the weights from the flat
 * layout (fm_mlp_layout) in the order and shapes of a PyTorch nn.Sequential. */
#include "fmcl/safetensors.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "fmcl/mlp.h"
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
  size_t flat = fm_mlp_layout(ck->n_layers, ck->layer_in, ck->layer_out, w_off, b_off);
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
