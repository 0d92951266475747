/* The names of the shared enums' values and of the toy data sets. */
#include "fmcl/types.h"

#include <string.h>

const char *const fm_activation_names[] = {"silu", "relu", "tanh", "gelu", NULL};
const char *const fm_scheduler_names[] = {"condot", "cosine", "linear_vp", "vp", "polynomial",
                                          NULL};
const char *const fm_coupling_names[] = {"independent", "ot", "ot_class", "sinkhorn", "pairs",
                                         NULL};
const char *const fm_reflow_init_names[] = {"teacher", "fresh", NULL};
const char *const fm_ot_solver_names[] = {"device", "host", NULL};
const char *const fm_plot_format_names[] = {"png", "svg", "pdf", NULL};
const char *const fm_time_sampling_names[] = {"uniform", "logit_normal", "start", NULL};
const char *const fm_solver_names[] = {"euler", "midpoint", "heun", "rk4", "dopri5", NULL};
const char *const fm_lr_shape_names[] = {"constant", "cosine", NULL};
const char *const fm_allreduce_names[] = {"whole", "layers", NULL};
const char *const fm_divergence_names[] = {"auto", "exact", "hutchinson", NULL};
const char *const fm_data_format_names[] = {"auto", "csv", "npy", "npz", "idx", NULL};
const char *const fm_device_kind_names[] = {"auto", "gpu", "cpu", NULL};
const char *const fm_gemm_provider_names[] = {"auto", "clblast", "fmcl", "fmcl-gpu", NULL};

const char *fm_activation_name(fm_activation a) { return fm_activation_names[a]; }
const char *fm_solver_name(fm_solver_kind s) { return fm_solver_names[s]; }
const char *fm_device_kind_name(fm_device_kind kind) { return fm_device_kind_names[kind]; }
const char *fm_gemm_provider_name(fm_gemm_provider p) { return fm_gemm_provider_names[p]; }

const char *const fm_toy_names[] = {"8gaussians", "moons",    "circles",   "checkerboard",
                                    "2spirals",   "pinwheel", "swissroll", "rings",
                                    NULL};

int fm_toy_exists(const char *name) {
  for (int i = 0; fm_toy_names[i]; i++)
    if (strcmp(fm_toy_names[i], name) == 0) return 1;
  return 0;
}

int fm_data_set_exists(const char *name) {
  return fm_toy_exists(name) || strcmp(name, FM_FASHION_MNIST) == 0;
}
