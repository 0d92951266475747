/* The one place where an experiment's config becomes the parameter structs of the modules
 * that carry it out (model, path, optimizer, device, solvers), so that none of those
 * modules depends on the config. */
#ifndef FMCL_RECIPE_H
#define FMCL_RECIPE_H

#include "fmcl/config.h"
#include "fmcl/device.h"
#include "fmcl/likelihood.h"
#include "fmcl/mlp.h"
#include "fmcl/optim.h"
#include "fmcl/path.h"
#include "fmcl/sample.h"

/* The model for data of dimension dim (model.*). */
fm_mlp_shape fm_recipe_mlp_shape(const fm_config *cfg, int dim);

/* The probability path and the time distribution of training (path.*, train.time_*,
 * train.label_dropout). */
fm_path_params fm_recipe_path(const fm_config *cfg);

/* Adam and the learning-rate schedule (train.*). */
fm_adam_params fm_recipe_adam(const fm_config *cfg);
fm_lr_schedule fm_recipe_lr(const fm_config *cfg);

/* Which device to open (device.*), with event profiling or not. */
fm_device_select fm_recipe_device(const fm_config *cfg, int profiling);

/* Sampling (sample.*, seed) for a model with cfg's classes; its time grid points into cfg,
 * the source points (or NULL) and the labels array (or NULL) are the caller's. */
fm_sample_params fm_recipe_sample(const fm_config *cfg);

/* The name of the data set a config's model starts from, or NULL for N(0, I). */
const char *fm_recipe_source_name(const fm_config *cfg);

/* The likelihood ODE (eval.*, seed) integrating batch points at once. */
fm_likelihood_params fm_recipe_likelihood(const fm_config *cfg, int batch);

#endif
