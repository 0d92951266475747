/* The small vocabulary every layer shares: the choices a config names (activations,
 * schedulers, solvers, devices, ...) as enums with their names, and the toy data sets.
 * Plain C with no OpenCL, so the config and the headers above the device layer can use it
 * without pulling in the device. */
#ifndef FMCL_TYPES_H
#define FMCL_TYPES_H

#include "fmcl/constants.h"

/* The most hidden layers a model has. */
#define FM_MAX_HIDDEN 16

/* The most times of an explicit sampling grid (sample.times): 1,000 steps. */
#define FM_MAX_GRID 1001

/* The most ranks of an MPI job on one node that device.indices can name. */
#define FM_MAX_LOCAL_RANKS 64

typedef enum fm_activation { FM_ACT_SILU, FM_ACT_RELU, FM_ACT_TANH, FM_ACT_GELU } fm_activation;

/* The kernels know these by the codes of fmcl/constants.h. */
typedef enum fm_scheduler {
  FM_SCHED_CONDOT = FM_CODE_SCHED_CONDOT,
  FM_SCHED_COSINE = FM_CODE_SCHED_COSINE,
  FM_SCHED_LINEAR_VP = FM_CODE_SCHED_LINEAR_VP,
  FM_SCHED_VP = FM_CODE_SCHED_VP,
  FM_SCHED_POLYNOMIAL = FM_CODE_SCHED_POLYNOMIAL
} fm_scheduler;

/* ot_class: ot within each class of a class-conditional batch; sinkhorn: pairs drawn from
 * the entropic plan. */
typedef enum fm_coupling {
  FM_COUPLING_INDEPENDENT, FM_COUPLING_OT, FM_COUPLING_OT_CLASS, FM_COUPLING_SINKHORN,
  FM_COUPLING_PAIRS /* fixed (x0, x1) pairs: data point j with source point j (reflow) */
} fm_coupling;

/* Where the ot coupling's assignment is solved: by the device's auction (no host wait) or
 * by the host's Jonker-Volgenant solver. */
typedef enum fm_ot_solver { FM_OT_SOLVER_DEVICE, FM_OT_SOLVER_HOST } fm_ot_solver;

/* start: t = 0 only, the one-step map a distilled model learns (fmcl distill). */
typedef enum fm_time_sampling {
  FM_TIME_UNIFORM = FM_CODE_TIME_UNIFORM,
  FM_TIME_LOGIT_NORMAL = FM_CODE_TIME_LOGIT_NORMAL,
  FM_TIME_START = FM_CODE_TIME_START
} fm_time_sampling;

/* What a reflowed or distilled model starts from: its teacher's weights, or new ones. */
typedef enum fm_reflow_init { FM_REFLOW_INIT_TEACHER, FM_REFLOW_INIT_FRESH } fm_reflow_init;

typedef enum fm_solver_kind {
  FM_SOLVER_EULER,
  FM_SOLVER_MIDPOINT,
  FM_SOLVER_HEUN,
  FM_SOLVER_RK4,
  FM_SOLVER_DOPRI5 /* adaptive */
} fm_solver_kind;

typedef enum fm_lr_shape { FM_LR_CONSTANT, FM_LR_COSINE } fm_lr_shape;

/* How the ranks of an MPI job sum the gradient: one MPI_Allreduce of the whole after the
 * backward pass, or an MPI_Iallreduce per layer started as the backward pass hands it over. */
typedef enum fm_allreduce_kind { FM_ALLREDUCE_WHOLE, FM_ALLREDUCE_LAYERS } fm_allreduce_kind;

typedef enum fm_divergence { FM_DIV_AUTO, FM_DIV_EXACT, FM_DIV_HUTCHINSON } fm_divergence;

typedef enum fm_data_format {
  FM_FORMAT_AUTO, FM_FORMAT_CSV, FM_FORMAT_NPY, FM_FORMAT_NPZ, FM_FORMAT_IDX
} fm_data_format;

typedef enum fm_device_kind { FM_DEVICE_AUTO, FM_DEVICE_GPU, FM_DEVICE_CPU } fm_device_kind;

/* Who computes the matrix products. */
typedef enum fm_gemm_provider {
  FM_GEMM_AUTO,     /* the tuned provider of each product; untuned, fmcl's kernels on
                       CPUs and CLBlast elsewhere */
  FM_GEMM_CLBLAST,  /* CLBlast with its tuned (or default) parameters */
  FM_GEMM_FMCL,     /* fmcl's own kernels for the device: cl/gemm.cl on CPUs, cl/gemm_gpu.cl
                       on other devices */
  FM_GEMM_FMCL_GPU  /* fmcl's kernels for GPUs on any device (cl/gemm_gpu.cl) */
} fm_gemm_provider;

/* The file format of plots. */
typedef enum fm_plot_format { FM_PLOT_PNG = 0, FM_PLOT_SVG, FM_PLOT_PDF } fm_plot_format;

/* The names of each enum's values, in enum order and NULL-terminated: what configs and
 * messages spell ("silu", "dopri5"). */
extern const char *const fm_activation_names[];
extern const char *const fm_scheduler_names[];
extern const char *const fm_coupling_names[];
extern const char *const fm_ot_solver_names[];
extern const char *const fm_reflow_init_names[];
extern const char *const fm_time_sampling_names[];
extern const char *const fm_solver_names[];
extern const char *const fm_lr_shape_names[];
extern const char *const fm_allreduce_names[];
extern const char *const fm_divergence_names[];
extern const char *const fm_data_format_names[];
extern const char *const fm_device_kind_names[];
extern const char *const fm_gemm_provider_names[];
extern const char *const fm_plot_format_names[];

const char *fm_activation_name(fm_activation a);
const char *fm_solver_name(fm_solver_kind s);
const char *fm_device_kind_name(fm_device_kind kind);
const char *fm_gemm_provider_name(fm_gemm_provider provider);

/* The toy data sets (src/data.c generates them), NULL-terminated, and whether name is one. */
extern const char *const fm_toy_names[];
int fm_toy_exists(const char *name);

/* The image data set read from Debian's dataset-fashion-mnist (src/dataset.c), and whether
 * a name is a data set: a toy set or that one. */
#define FM_FASHION_MNIST "fashion-mnist"
int fm_data_set_exists(const char *name);

#endif
