/* Config to module parameters. */
#include "fmcl/recipe.h"

#include <string.h>

#include "internal.h"

fm_mlp_shape fm_recipe_mlp_shape(const fm_config *cfg, int dim) {
  fm_mlp_shape s = {
      .dim = dim,
      .time_features = cfg->model.time_features,
      .classes = cfg->model.classes,
      .n_hidden = cfg->model.n_hidden,
      .activation = cfg->model.activation,
      .residual = cfg->model.residual,
  };
  memcpy(s.hidden, cfg->model.hidden, sizeof s.hidden);
  return s;
}

fm_path_params fm_recipe_path(const fm_config *cfg) {
  fm_path_params p = {
      .scheduler = cfg->path.scheduler,
      .sigma_min = (float)cfg->path.sigma_min,
      .beta_min = (float)cfg->path.beta_min,
      .beta_max = (float)cfg->path.beta_max,
      .exponent = (float)cfg->path.exponent,
      .coupling = cfg->path.coupling,
      .ot_solver = cfg->path.ot_solver,
      .ot_reg = cfg->path.ot_reg,
      .sigma = (float)cfg->path.sigma,
      .time_sampling = cfg->train.time_sampling,
      .time_mean = (float)cfg->train.time_mean,
      .time_std = (float)cfg->train.time_std,
      .label_dropout = (float)cfg->train.label_dropout,
  };
  return p;
}

fm_adam_params fm_recipe_adam(const fm_config *cfg) {
  fm_adam_params a = {
      .lr = cfg->train.lr,
      .beta1 = cfg->train.beta1,
      .beta2 = cfg->train.beta2,
      .eps = cfg->train.eps,
      .weight_decay = cfg->train.weight_decay,
      .clip = cfg->train.grad_clip,
      .ema = cfg->train.ema,
  };
  return a;
}

fm_lr_schedule fm_recipe_lr(const fm_config *cfg) {
  fm_lr_schedule s = {
      .shape = cfg->train.lr_schedule,
      .lr = cfg->train.lr,
      .lr_min = cfg->train.lr_min,
      .warmup = cfg->train.warmup,
      .steps = cfg->train.steps,
  };
  return s;
}

fm_device_select fm_recipe_device(const fm_config *cfg, int profiling) {
  fm_device_select sel = {
      .kind = cfg->device.type,
      .index = cfg->device.index,
      .profiling = profiling,
  };
  fm_strlcpy(sel.name, cfg->device.name, sizeof sel.name);
  fm_strlcpy(sel.program_cache, cfg->device.program_cache, sizeof sel.program_cache);
  return sel;
}

fm_sample_params fm_recipe_sample(const fm_config *cfg) {
  fm_sample_params p = {
      .solver = cfg->sample.solver,
      /* An explicit grid's intervals are the steps (fm_config_resolve says so too). */
      .steps = cfg->sample.n_times > 0 ? cfg->sample.n_times - 1 : cfg->sample.steps,
      .times = cfg->sample.n_times > 0 ? cfg->sample.times : NULL,
      .time_shift = cfg->sample.time_shift,
      .n = cfg->sample.n,
      .batch = cfg->sample.batch,
      .seed = cfg->seed,
      .rtol = cfg->sample.rtol,
      .atol = cfg->sample.atol,
      .save_every = cfg->sample.save_every,
      .classes = cfg->model.classes,
      .class_label = cfg->sample.class_label,
      .guidance = cfg->sample.guidance,
  };
  return p;
}

fm_likelihood_params fm_recipe_likelihood(const fm_config *cfg, int batch) {
  fm_likelihood_params p = {
      .solver = cfg->eval.solver,
      .steps = cfg->eval.steps,
      .rtol = cfg->eval.rtol,
      .atol = cfg->eval.atol,
      .divergence = cfg->eval.divergence,
      .probes = cfg->eval.probes,
      .seed = cfg->seed,
      .batch = batch,
  };
  return p;
}

const char *fm_recipe_source_name(const fm_config *cfg) {
  return cfg->source.name[0] ? cfg->source.name : cfg->source.path[0] ? cfg->source.path : NULL;
}
