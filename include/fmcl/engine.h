/* What every command that computes opens first, in one place: the device a config (or a
 * caller's selection) names, its tuning file, and the model on it, either new or from a
 * checkpoint. */
#ifndef FMCL_ENGINE_H
#define FMCL_ENGINE_H

#include "fmcl/checkpoint.h"
#include "fmcl/config.h"
#include "fmcl/device.h"
#include "fmcl/gemm.h"
#include "fmcl/mlp.h"
#include "fmcl/ranks.h"
#include "fmcl/report.h"

typedef struct fm_engine fm_engine;

typedef struct fm_engine_options {
  const fm_device_select *select; /* the device; NULL: the config's device.* */
  int profiling;                  /* OpenCL event profiling on the queue */
  int skip_tuning;                /* leave the tuning file alone (fmcl tune measures anew) */
  const fm_reporter *report;      /* the device description and tuning warnings */
  /* The job's ranks (NULL: one process). Without select, each rank opens the device of
   * its local rank: device.indices[local rank], or the local rank's position among the
   * devices that device.type and device.name select on its node. */
  const fm_ranks *ranks;
} fm_engine_options;

/* Opens the device and, when device.gemm is auto, its tuning file (a damaged or foreign
 * one is reported and ignored) with its CLBlast parameters applied. */
fm_status fm_engine_open(const fm_config *cfg, const fm_engine_options *options,
                         fm_engine **out);
void fm_engine_destroy(fm_engine *e);

/* A new model of cfg's shape for data of dimension dim, initialised from cfg's seed, with
 * room for batches of capacity rows. */
fm_status fm_engine_new_model(fm_engine *e, const fm_config *cfg, int dim, int capacity);

/* The model a checkpoint holds (its EMA weights when it has them); path names it in
 * messages. */
fm_status fm_engine_load_model(fm_engine *e, const fm_checkpoint *ck, int capacity,
                               const char *path);

/* Replaces the model's weights with those of a file (model.init_from): a safetensors file
 * of the model's layer shapes, or a checkpoint of them (its EMA weights when it has them). */
fm_status fm_engine_init_from(fm_engine *e, const char *path);

/* Another model from a checkpoint on the same device (a reflow's teacher), owned by the
 * caller (fm_mlp_destroy). */
fm_status fm_engine_open_saved_model(fm_engine *e, const fm_checkpoint *ck, int capacity,
                                     const char *path, fm_mlp **out);

fm_device *fm_engine_device(const fm_engine *e);
fm_mlp *fm_engine_model(const fm_engine *e); /* NULL before a model is made */

/* The provider the products use by default on this device ("fmcl", "clblast"). */
const char *fm_engine_gemm_name(const fm_engine *e);

#endif
