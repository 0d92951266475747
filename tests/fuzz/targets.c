/* Fuzz targets: the parsers of everything a user hands to fmcl. */
#include "targets.h"

#include <stdlib.h>
#include <string.h>

#include "fmcl/checkpoint.h"
#include "fmcl/config.h"
#include "fmcl/datafile.h"
#include "fmcl/flat.h"
#include "fmcl/safetensors.h"

fm_status fuzz_config(const uint8_t *data, size_t size) {
  fm_config cfg;
  fm_config_defaults(&cfg);
  fm_status st = fm_config_parse(&cfg, (const char *)data, size, "fuzz.json");
  if (st == FM_OK) {
    char *json = fm_config_to_json(&cfg);
    free(json);
  }
  /* The same bytes as an override (a C string, so up to the first NUL). */
  char *text = malloc(size + 1);
  if (!text) return FM_ERR_NOMEM;
  memcpy(text, data, size);
  text[size] = '\0';
  fm_config_defaults(&cfg);
  fm_config_set(&cfg, text);
  free(text);
  return st;
}

fm_status fuzz_checkpoint(const uint8_t *data, size_t size) {
  fm_checkpoint ck;
  fm_status st = fm_checkpoint_parse(data, size, "fuzz.fmck", &ck);
  if (st == FM_OK) fm_checkpoint_free(&ck);
  return st;
}

fm_status fuzz_datafile(const uint8_t *data, size_t size) {
  fm_points p;
  fm_status st = fm_datafile_parse(data, size, "fuzz.data", FM_FORMAT_AUTO, NULL, &p);
  if (st == FM_OK) fm_points_free(&p);
  return st;
}

fm_status fuzz_safetensors(const uint8_t *data, size_t size) {
  fm_checkpoint ck;
  fm_status st = fm_safetensors_parse(data, size, "fuzz.safetensors", &ck);
  if (st == FM_OK) fm_checkpoint_free(&ck);
  /* The seed's model (tests/fuzz/safetensors/tiny.safetensors): 2 inputs + t -> 4 -> 2. */
  static const int in[2] = {3, 4}, out[2] = {4, 2};
  float *flat = malloc(fm_flat_layout(2, in, out, NULL, NULL) * sizeof *flat);
  if (!flat) return FM_ERR_NOMEM;
  fm_status weights = fm_safetensors_parse_weights(data, size, "fuzz.safetensors", 2, in, out, flat);
  free(flat);
  return st != FM_OK ? st : weights;
}
