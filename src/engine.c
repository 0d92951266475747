/* Device, tuning and model, opened the same way for every command. */
#include "fmcl/engine.h"

#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "fmcl/recipe.h"
#include "fmcl/safetensors.h"
#include "fmcl/tuning.h"
#include "internal.h"

struct fm_engine {
  fm_device *dev;
  fm_gemm_provider gemm; /* device.gemm */
  fm_gemm_tuning tuning; /* per-shape providers; empty when untuned */
  fm_mlp *mlp;
};

/* The config's device for this rank: with several ranks on a node, each its own. */
static fm_status rank_device(const fm_config *cfg, const fm_ranks *ranks, int profiling,
                             fm_device_select *sel) {
  *sel = fm_recipe_device(cfg, profiling);
  if (!ranks) return FM_OK;
  if (cfg->device.n_indices > 0) {
    if (ranks->local_rank >= cfg->device.n_indices)
      return fm_fail(FM_ERR_CONFIG, "rank %d: device.indices names %d devices but this node "
                     "runs %d ranks; name one device per local rank, or leave device.indices "
                     "out to give the ranks the devices device.type selects in turn",
                     ranks->rank, cfg->device.n_indices, ranks->local_size);
    sel->index = cfg->device.indices[ranks->local_rank];
  } else if (ranks->local_size > 1) {
    if (sel->index >= 0)
      return fm_fail(FM_ERR_CONFIG, "rank %d: device.index %d names one device for the %d "
                     "ranks on this node; give each local rank its own with device.indices "
                     "(for example [0, 1]), or leave device.index out", ranks->rank,
                     sel->index, ranks->local_size);
    sel->nth = ranks->local_rank;
  }
  return FM_OK;
}

fm_status fm_engine_open(const fm_config *cfg, const fm_engine_options *o, fm_engine **out) {
  fm_status st = FM_OK;
  *out = NULL;
  fm_engine *e = calloc(1, sizeof *e);
  if (!e) return fm_fail(FM_ERR_NOMEM, "out of host memory");
  e->gemm = cfg->device.gemm;
  fm_device_select sel;
  if (o->select) sel = *o->select;
  else FM_TRY(rank_device(cfg, o->ranks, o->profiling, &sel));
  sel.profiling = o->profiling;
  if (!sel.report) sel.report = o->report;
  FM_TRY(fm_device_open(&sel, &e->dev));
  const fm_device_info *d = fm_device_get_info(e->dev);
  fm_report(o->report, FM_REPORT_INFO,
            "device %d: %s (%s, %s, %u compute units, %.1f GiB, driver %s); matrix products: %s",
            d->index, d->name, d->type, d->version, d->compute_units,
            (double)d->global_mem / (1u << 30), d->driver, fm_engine_gemm_name(e));
  if (cfg->device.gemm == FM_GEMM_AUTO && !o->skip_tuning) {
    char path[1024];
    fm_tuning_path(e->dev, cfg->device.tuning, path, sizeof path);
    FM_TRY(fm_tuning_load(e->dev, path, &e->tuning, o->report));
    if (e->tuning.n_choices > 0)
      fm_report(o->report, FM_REPORT_INFO, "tuning: %d products from %s",
                e->tuning.n_choices, path);
    FM_TRY(fm_gemm_set_clblast_params(e->dev, "Xgemm", &e->tuning.xgemm));
    FM_TRY(fm_gemm_set_clblast_params(e->dev, "XgemmDirect", &e->tuning.xgemm_direct));
  }
  *out = e;
  return FM_OK;
fail:
  fm_engine_destroy(e);
  return st;
}

void fm_engine_destroy(fm_engine *e) {
  if (!e) return;
  fm_mlp_destroy(e->mlp);
  fm_tuning_free(&e->tuning);
  fm_device_destroy(e->dev);
  free(e);
}

/* The model's providers: device.gemm, or per shape the tuning's when it is auto. */
static fm_status set_providers(fm_engine *e) {
  fm_mlp_set_tuning(e->mlp, &e->tuning);
  return fm_mlp_set_gemm(e->mlp, e->gemm);
}

fm_status fm_engine_new_model(fm_engine *e, const fm_config *cfg, int dim, int capacity) {
  fm_status st = FM_OK;
  FM_ASSERT(!e->mlp);
  fm_mlp_shape shape = fm_recipe_mlp_shape(cfg, dim);
  FM_TRY(fm_mlp_create(e->dev, &shape, capacity, &e->mlp));
  FM_TRY(set_providers(e));
  FM_TRY(fm_mlp_init(e->mlp, cfg->seed));
fail:
  return st;
}

fm_status fm_engine_open_saved_model(fm_engine *e, const fm_checkpoint *ck, int capacity,
                                     const char *path, fm_mlp **out) {
  fm_status st = FM_OK;
  fm_mlp *mlp = NULL;
  fm_mlp_shape shape = fm_recipe_mlp_shape(&ck->config, ck->dim);
  FM_TRY(fm_mlp_create(e->dev, &shape, capacity, &mlp));
  fm_mlp_set_tuning(mlp, &e->tuning);
  FM_TRY(fm_mlp_set_gemm(mlp, e->gemm));
  int ok = fm_mlp_flat_size(mlp) == ck->flat_size && fm_mlp_layers(mlp) == ck->n_layers;
  for (int l = 0; ok && l < ck->n_layers; l++)
    ok = fm_mlp_layer_in(mlp, l) == ck->layer_in[l] && fm_mlp_layer_out(mlp, l) == ck->layer_out[l];
  if (!ok) {
    st = fm_fail(FM_ERR_FORMAT, "checkpoint %s: its layer shapes do not match its config; the file "
                 "was not written by this version of fmcl", path);
    goto fail;
  }
  /* The EMA of the weights is the model to use when training kept one. */
  FM_TRY(fm_mlp_write_params(mlp, ck->ema ? ck->ema : ck->params));
  *out = mlp;
  return FM_OK;
fail:
  fm_mlp_destroy(mlp);
  return st;
}

fm_status fm_engine_load_model(fm_engine *e, const fm_checkpoint *ck, int capacity,
                               const char *path) {
  FM_ASSERT(!e->mlp);
  return fm_engine_open_saved_model(e, ck, capacity, path, &e->mlp);
}

fm_device *fm_engine_device(const fm_engine *e) { return e->dev; }
fm_mlp *fm_engine_model(const fm_engine *e) { return e->mlp; }

const char *fm_engine_gemm_name(const fm_engine *e) {
  return fm_gemm_provider_name(fm_gemm_resolve(e->dev, e->gemm));
}

fm_status fm_engine_init_from(fm_engine *e, const char *path) {
  fm_status st = FM_OK;
  fm_mlp *m = e->mlp;
  int n = fm_mlp_layers(m), in[FM_MAX_HIDDEN + 1], out[FM_MAX_HIDDEN + 1];
  for (int l = 0; l < n; l++) in[l] = fm_mlp_layer_in(m, l), out[l] = fm_mlp_layer_out(m, l);
  float *flat = malloc(fm_mlp_flat_size(m) * sizeof *flat);
  char *data = NULL;
  fm_checkpoint ck;
  memset(&ck, 0, sizeof ck);
  if (!flat) return fm_fail(FM_ERR_NOMEM, "out of host memory for model.init_from");
  if (fm_safetensors_is_named(path)) {
    size_t size = 0;
    FM_TRY(fm_read_whole(path, "model.init_from", FM_ERR_IO, SIZE_MAX, &data, &size));
    FM_TRY(fm_safetensors_parse_weights((const unsigned char *)data, size, path, n, in, out, flat));
    FM_TRY(fm_mlp_write_params(m, flat));
  } else {
    FM_TRY(fm_checkpoint_load(path, &ck));
    int same = ck.n_layers == n && ck.flat_size == fm_mlp_flat_size(m);
    for (int l = 0; same && l < n; l++) same = ck.layer_in[l] == in[l] && ck.layer_out[l] == out[l];
    if (!same) {
      st = fm_fail(FM_ERR_CONFIG, "%s: its layers are not this model's "
                   "(model.hidden, model.time_features, model.classes and the data's dimension "
                   "must match)", path);
      goto fail;
    }
    if (ck.config.model.residual != fm_mlp_get_shape(m)->residual) {
      st = fm_fail(FM_ERR_CONFIG, "%s: its model %s residual blocks and this one %s; "
                   "model.residual must match", path, ck.config.model.residual ? "has" : "has no",
                   fm_mlp_get_shape(m)->residual ? "has" : "has none");
      goto fail;
    }
    FM_TRY(fm_mlp_write_params(m, ck.ema ? ck.ema : ck.params));
  }
fail:
  if (st != FM_OK) fm_fail_context(st, "model.init_from: ");
  fm_checkpoint_free(&ck);
  free(data);
  free(flat);
  return st;
}
