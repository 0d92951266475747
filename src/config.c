/* The config schema (one table entry per key), the JSON overlay with errors that name the
 * key path, `--set` overrides and the resolved-config writer. */
#include "fmcl/config.h"

#include <cjson/cJSON.h>
#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "internal.h"

typedef enum field_type {
  F_INT, F_SEED, F_REAL, F_STRING, F_ENUM, F_INT_LIST, F_REAL_LIST, F_BOOL
} field_type;

/* Flag: the key changes what is trained, so it is part of the model hash. */
#define F_MODEL 1
/* Flag: an F_INT_LIST or F_REAL_LIST that may be empty (its default). */
#define F_EMPTY_OK 2

typedef struct field {
  const char *path;
  field_type type;
  size_t offset;
  double min, max;          /* F_INT, F_REAL, list items: inclusive range */
  int min_exclusive;        /* F_REAL: value must be > min */
  size_t size;              /* F_STRING: buffer size; lists: max items */
  const char *const *names; /* F_ENUM: value names, NULL-terminated */
  int flags;
  const char *doc;
} field;

#define OFF(member) offsetof(fm_config, member)
#define SZ(member) sizeof(((fm_config *)0)->member)
#define BIG 2147483647.0

static const field fields[] = {
    {"name", F_STRING, OFF(name), 0, 0, 0, SZ(name), NULL, 0,
     "experiment name (empty: data.name); the run folder defaults to runs/<name>"},
    {"seed", F_SEED, OFF(seed), 0, 9007199254740991.0, 0, 0, NULL, F_MODEL,
     "seed of every random number (data, initialisation, batches, sampling)"},
    {"device.type", F_ENUM, OFF(device.type), 0, 0, 0, 0, fm_device_kind_names, 0,
     "auto (first GPU, else first device), gpu or cpu"},
    {"device.index", F_INT, OFF(device.index), -1, 1024, 0, 0, NULL, 0,
     "device position as `fmcl devices` lists it; -1 for any"},
    {"device.name", F_STRING, OFF(device.name), 0, 0, 0, SZ(device.name), NULL, 0,
     "substring of the device name (case-insensitive); empty for any"},
    {"device.indices", F_INT_LIST, OFF(device.indices), 0, 1024, 0, FM_MAX_LOCAL_RANKS, NULL,
     F_EMPTY_OK, "device index of each local rank of an MPI job ([0, 1]: local rank 0 on "
     "device 0, 1 on 1); empty: local rank r takes the r-th device device.type and "
     "device.name select"},
    {"device.gemm", F_ENUM, OFF(device.gemm), 0, 0, 0, 0, fm_gemm_provider_names, 0,
     "matrix products: auto (the tuning's choice; untuned, fmcl's kernels on CPUs and CLBlast "
     "on GPUs), clblast, fmcl (its kernels for the device type) or fmcl-gpu"},
    {"device.tuning", F_STRING, OFF(device.tuning), 0, 0, 0, SZ(device.tuning), NULL, 0,
     "tuning file (fmcl tune); empty: ~/.cache/fmcl/tuning/<device>-<driver>.json"},
    {"device.program_cache", F_STRING, OFF(device.program_cache), 0, 0, 0,
     SZ(device.program_cache), NULL, 0,
     "folder of compiled kernel programs; empty: ~/.cache/fmcl/programs; \"off\": none"},
    {"data.name", F_STRING, OFF(data.name), 0, 0, 0, SZ(data.name), NULL, F_MODEL,
     "toy data set: 8gaussians, moons, circles, checkerboard, 2spirals, pinwheel, swissroll, "
     "rings; or fashion-mnist (28 x 28 images in 10 classes, Debian's dataset-fashion-mnist)"},
    {"data.path", F_STRING, OFF(data.path), 0, 0, 0, SZ(data.path), NULL, F_MODEL,
     "a data file (CSV, NPY, NPZ or IDX, one point per row) instead of a toy set; empty for "
     "data.name"},
    {"data.format", F_ENUM, OFF(data.format), 0, 0, 0, 0, fm_data_format_names, 0,
     "auto (NPY, NPZ or IDX by their magic bytes, else CSV; gzip-compressed or not), csv, "
     "npy, npz or idx"},
    {"data.key", F_STRING, OFF(data.key), 0, 0, 0, SZ(data.key), NULL, F_MODEL,
     "the array of an NPZ archive (data.path x.npz, as numpy.savez names them: its keyword, "
     "or arr_0, ...); empty: the archive's only array"},
    {"data.test_fraction", F_REAL, OFF(data.test_fraction), 0, 0.9, 0, 0, NULL, F_MODEL,
     "share of a data file's rows held out (after a seeded shuffle); 0 holds none"},
    {"data.standardize", F_BOOL, OFF(data.standardize), 0, 0, 0, 0, NULL, F_MODEL,
     "train on (x - mean) / std of the training split; samples come back in data units"},
    {"data.label_column", F_INT, OFF(data.label_column), -1, 1000000, 0, 0, NULL, F_MODEL,
     "a data file's column (from 0) of integer class labels, not part of the points; -1: none "
     "(toy sets label each point with its mixture component)"},
    {"data.n_train", F_INT, OFF(data.n_train), 1, 100000000, 0, 0, NULL, F_MODEL,
     "toy training points (kept on the device; batches are drawn from them)"},
    {"data.n_test", F_INT, OFF(data.n_test), 1, 100000000, 0, 0, NULL, 0,
     "toy held-out points, written to the run folder as test.csv"},
    {"source.name", F_STRING, OFF(source.name), 0, 0, 0, SZ(source.name), NULL, F_MODEL,
     "the distribution at t = 0: empty for N(0, I), or a toy set (e.g. moons to 8gaussians)"},
    {"source.path", F_STRING, OFF(source.path), 0, 0, 0, SZ(source.path), NULL, F_MODEL,
     "a data file as the source instead (CSV or NPY, the data's dimension)"},
    {"source.n", F_INT, OFF(source.n), 1, 100000000, 0, 0, NULL, F_MODEL,
     "toy source points"},
    {"model.hidden", F_INT_LIST, OFF(model.hidden), 1, 65536, 0, FM_MAX_HIDDEN, NULL, F_MODEL,
     "widths of the hidden layers"},
    {"model.activation", F_ENUM, OFF(model.activation), 0, 0, 0, 0, fm_activation_names, F_MODEL,
     "silu, relu, tanh or gelu (exact erf form, as PyTorch's default)"},
    {"model.time_features", F_INT, OFF(model.time_features), 0, 64, 0, 0, NULL, F_MODEL,
     "pairs sin(2 pi k t), cos(2 pi k t), k = 1..n, added to the input [x, t]"},
    {"model.residual", F_BOOL, OFF(model.residual), 0, 0, 0, 0, NULL, F_MODEL,
     "residual blocks: hidden [w, f1, w, f2, w, ...] wired as s = act(W0 in), then s += "
     "W2 act(W1 norm(s)) a block (norm: layer normalisation), output W norm(s); the model "
     "for images"},
    {"model.init_from", F_STRING, OFF(model.init_from), 0, 0, 0, SZ(model.init_from), NULL,
     F_MODEL, "start training from these weights (fine-tuning): a .safetensors file (fmcl "
     "export's, or a PyTorch nn.Sequential state dict of this shape) or a model.fmck; empty: "
     "a new initialisation"},
    {"model.classes", F_INT, OFF(model.classes), 0, 4096, 0, 0, NULL, F_MODEL,
     "class-conditional model with this many classes, given as a one-hot input (a learned "
     "embedding added by the first layer); 0: unconditional"},
    {"path.scheduler", F_ENUM, OFF(path.scheduler), 0, 0, 0, 0, fm_scheduler_names, F_MODEL,
     "x_t = a(t) x1 + s(t) x0 with condot (a = t, s = 1 - (1 - sigma_min) t), cosine "
     "(sin, cos of pi t / 2), linear_vp (t, sqrt(1 - t^2)), vp (diffusion) or polynomial "
     "(t^n, 1 - t^n)"},
    {"path.sigma_min", F_REAL, OFF(path.sigma_min), 0, 1, 0, 0, NULL, F_MODEL,
     "width of the path at t = 1 (condot); 0 with path.sigma 0 is rectified flow"},
    {"path.beta_min", F_REAL, OFF(path.beta_min), 0, 1000, 0, 0, NULL, F_MODEL,
     "vp: T(t) = (1-t)^2 (beta_max - beta_min) / 2 + (1-t) beta_min, a = exp(-T/2)"},
    {"path.beta_max", F_REAL, OFF(path.beta_max), 0, 1000, 0, 0, NULL, F_MODEL,
     "vp: see path.beta_min; s = sqrt(1 - exp(-T))"},
    {"path.exponent", F_REAL, OFF(path.exponent), 1, 16, 0, 0, NULL, F_MODEL,
     "polynomial: n"},
    {"path.coupling", F_ENUM, OFF(path.coupling), 0, 0, 0, 0, fm_coupling_names, F_MODEL,
     "pairs of x0 and x1: independent, ot (each batch matched by an exact assignment on "
     "squared distance, OT-CFM; see path.ot_solver), ot_class (the same within each class "
     "of a class-conditional model) or sinkhorn (pairs drawn from the entropic plan, "
     "path.ot_reg; approximate)"},
    {"path.ot_solver", F_ENUM, OFF(path.ot_solver), 0, 0, 0, 0, fm_ot_solver_names, 0,
     "ot: device (the auction algorithm on the device, no host wait; the exact optimum of "
     "the costs rounded to 523,000 levels at batch 512) or host (Jonker-Volgenant in double "
     "precision: the reference)"},
    {"path.ot_reg", F_REAL, OFF(path.ot_reg), 0, 100, 1, 0, NULL, F_MODEL,
     "sinkhorn: entropic regularisation, relative to the batch's largest squared distance "
     "(small: close to ot; large: close to independent)"},
    {"path.sigma", F_REAL, OFF(path.sigma), 0, 100, 0, 0, NULL, F_MODEL,
     "Gaussian noise of this scale around the path (I-CFM)"},
    {"train.steps", F_INT, OFF(train.steps), 0, BIG, 0, 0, NULL, 0, "optimizer steps"},
    {"train.batch", F_INT, OFF(train.batch), 1, 16777216, 0, 0, NULL, F_MODEL,
     "points per batch"},
    {"train.lr", F_REAL, OFF(train.lr), 0, 10, 1, 0, NULL, F_MODEL, "Adam learning rate"},
    {"train.beta1", F_REAL, OFF(train.beta1), 0, 0.999999, 0, 0, NULL, F_MODEL, "Adam beta1"},
    {"train.beta2", F_REAL, OFF(train.beta2), 0, 0.99999999, 0, 0, NULL, F_MODEL, "Adam beta2"},
    {"train.eps", F_REAL, OFF(train.eps), 0, 1, 1, 0, NULL, F_MODEL, "Adam epsilon"},
    {"train.weight_decay", F_REAL, OFF(train.weight_decay), 0, 1, 0, 0, NULL, F_MODEL,
     "decoupled weight decay (AdamW); 0 for plain Adam"},
    {"train.lr_schedule", F_ENUM, OFF(train.lr_schedule), 0, 0, 0, 0, fm_lr_shape_names, F_MODEL,
     "after the warm-up: constant, or cosine from train.lr down to train.lr_min"},
    {"train.warmup", F_INT, OFF(train.warmup), 0, BIG, 0, 0, NULL, F_MODEL,
     "steps of linear warm-up from 0 to train.lr"},
    {"train.lr_min", F_REAL, OFF(train.lr_min), 0, 10, 0, 0, NULL, F_MODEL,
     "the cosine schedule's final learning rate"},
    {"train.grad_clip", F_REAL, OFF(train.grad_clip), 0, 1e30, 0, 0, NULL, F_MODEL,
     "largest global gradient norm (larger gradients are scaled down); 0: no clipping"},
    {"train.ema", F_REAL, OFF(train.ema), 0, 0.999999, 0, 0, NULL, F_MODEL,
     "decay of an exponential moving average of the weights, used for sampling and "
     "evaluation, warmed up as min(decay, (1 + t) / (10 + t)) at update t; 0: none"},
    {"train.time_sampling", F_ENUM, OFF(train.time_sampling), 0, 0, 0, 0, fm_time_sampling_names,
     F_MODEL, "t ~ uniform on [0, 1), logit_normal: sigmoid(mean + std z), or start: t = 0 "
     "only (the one-step map of fmcl distill)"},
    {"train.time_mean", F_REAL, OFF(train.time_mean), -10, 10, 0, 0, NULL, F_MODEL,
     "logit_normal: mean"},
    {"train.time_std", F_REAL, OFF(train.time_std), 0, 10, 1, 0, NULL, F_MODEL,
     "logit_normal: standard deviation"},
    {"train.label_dropout", F_REAL, OFF(train.label_dropout), 0, 1, 0, 0, NULL, F_MODEL,
     "chance that a training point's class is replaced by the null class, so the model also "
     "learns the unconditional field (for classifier-free guidance)"},
    {"train.log_every", F_INT, OFF(train.log_every), 1, BIG, 0, 0, NULL, 0,
     "steps between loss reads (a train.csv row and a progress update)"},
    {"train.checkpoint_every", F_INT, OFF(train.checkpoint_every), 0, BIG, 0, 0, NULL, 0,
     "steps between checkpoints (model.fmck); 0 writes one only at the end"},
    {"train.allreduce", F_ENUM, OFF(train.allreduce), 0, 0, 0, 0, fm_allreduce_names, 0,
     "how the ranks of an MPI job sum the gradient: whole (one MPI_Allreduce after the "
     "backward pass) or layers (one MPI_Iallreduce per layer, overlapping the backward pass)"},
    {"sample.solver", F_ENUM, OFF(sample.solver), 0, 0, 0, 0, fm_solver_names, 0,
     "ODE solver: euler, midpoint, heun, rk4 (fixed steps) or dopri5 (adaptive)"},
    {"sample.steps", F_INT, OFF(sample.steps), 1, 1000000, 0, 0, NULL, 0,
     "solver steps from t = 0 to t = 1 (fixed-step solvers)"},
    {"sample.times", F_REAL_LIST, OFF(sample.times), 0, 1, 0, FM_MAX_GRID, NULL, F_EMPTY_OK,
     "an explicit time grid for the fixed-step solvers, increasing from 0 to 1 ([0, 0.5, 0.8, "
     "1]: 3 steps; it sets sample.steps); empty: sample.steps uniform steps"},
    {"sample.time_shift", F_REAL, OFF(sample.time_shift), 0, 1e6, 1, 0, NULL, 0,
     "shift s of the grid's times, t' = s t / (1 + (s - 1) t) (SD3's formula; t = 1 is the "
     "data here, so s > 1 puts the small steps near the data, s < 1 near the noise as SD3's "
     "s > 1 does); 1: none"},
    {"sample.rtol", F_REAL, OFF(sample.rtol), 0, 1, 1, 0, NULL, 0,
     "dopri5's relative tolerance"},
    {"sample.atol", F_REAL, OFF(sample.atol), 0, 1, 1, 0, NULL, 0,
     "dopri5's absolute tolerance"},
    {"sample.guidance", F_REAL, OFF(sample.guidance), -100, 100, 0, 0, NULL, 0,
     "classifier-free guidance w: v = v(null) + w (v(class) - v(null)); 1: the plain "
     "conditional model, 0: unconditional"},
    {"sample.class", F_INT, OFF(sample.class_label), -1, 4095, 0, 0, NULL, 0,
     "the class to generate; -1: a uniform random class per point"},
    {"sample.save_every", F_INT, OFF(sample.save_every), 0, 1000000, 0, 0, NULL, 0,
     "keep the states every this many steps (trajectories.csv, trajectories.png); 0: none"},
    {"sample.n", F_INT, OFF(sample.n), 0, 100000000, 0, 0, NULL, 0,
     "points to generate (samples.csv); 0 skips sampling"},
    {"sample.batch", F_INT, OFF(sample.batch), 1, 16777216, 0, 0, NULL, 0,
     "points integrated at once"},
    {"eval.likelihood", F_BOOL, OFF(eval.likelihood), 0, 0, 0, 0, NULL, 0,
     "negative log-likelihood of held-out points (summary.json)"},
    {"eval.solver", F_ENUM, OFF(eval.solver), 0, 0, 0, 0, fm_solver_names, 0,
     "solver of the likelihood ODE (from t = 1 back to t = 0)"},
    {"eval.steps", F_INT, OFF(eval.steps), 1, 1000000, 0, 0, NULL, 0,
     "its steps (fixed-step solvers)"},
    {"eval.rtol", F_REAL, OFF(eval.rtol), 0, 1, 1, 0, NULL, 0, "its relative tolerance (dopri5)"},
    {"eval.atol", F_REAL, OFF(eval.atol), 0, 1, 1, 0, NULL, 0, "its absolute tolerance (dopri5)"},
    {"eval.divergence", F_ENUM, OFF(eval.divergence), 0, 0, 0, 0, fm_divergence_names, 0,
     "auto (exact up to 16 dimensions), exact, or hutchinson (Rademacher probes)"},
    {"eval.probes", F_INT, OFF(eval.probes), 1, 1024, 0, 0, NULL, 0,
     "Hutchinson probes per point, fixed for the whole solve"},
    {"eval.n", F_INT, OFF(eval.n), 0, 100000000, 0, 0, NULL, 0,
     "held-out points whose likelihood is computed (at most all of them)"},
    {"eval.dequantize", F_REAL, OFF(eval.dequantize), -1, BIG, 0, 0, NULL, 0,
     "bin width of quantized data: the held-out points get uniform noise of it and bits/dim "
     "are of the bins (8-bit pixels); 0: continuous data; -1: 2/255 for fashion-mnist, else 0"},
    {"eval.metrics", F_BOOL, OFF(eval.metrics), 0, 0, 0, 0, NULL, 0,
     "W2 (exact assignment), energy distance and MMD of samples against held-out points"},
    {"eval.metric_points", F_INT, OFF(eval.metric_points), 2, 10000, 0, 0, NULL, 0,
     "points of each side the metrics use (W2 costs O(n^3))"},
    {"eval.density_grid", F_INT, OFF(eval.density_grid), 0, 1000, 0, 0, NULL, 0,
     "cells per side of the density heat map (2-D data); 0: none"},
    {"reflow.teacher", F_STRING, OFF(reflow.teacher), 0, 0, 0, SZ(reflow.teacher), NULL, F_MODEL,
     "the teacher's checkpoint whose pairs this model trains on (fmcl reflow and fmcl distill "
     "set it); empty: not a reflow"},
    {"reflow.pairs", F_INT, OFF(reflow.pairs), 1, 16777216, 0, 0, NULL, F_MODEL,
     "noise points the teacher carries to data: the fixed (x0, x1) pairs of the training set"},
    {"reflow.solver", F_ENUM, OFF(reflow.solver), 0, 0, 0, 0, fm_solver_names, F_MODEL,
     "the solver the teacher's pairs are integrated with"},
    {"reflow.steps", F_INT, OFF(reflow.steps), 1, 100000, 0, 0, NULL, F_MODEL,
     "steps of reflow.solver when it is a fixed-step solver (dopri5: also the grid its "
     "tolerances start from)"},
    {"reflow.init", F_ENUM, OFF(reflow.init), 0, 0, 0, 0, fm_reflow_init_names, F_MODEL,
     "teacher: start from the teacher's weights; fresh: from a new initialisation"},
    {"reflow.generation", F_INT, OFF(reflow.generation), 0, 1000, 0, 0, NULL, F_MODEL,
     "k of a k-rectified flow: fmcl reflow sets the teacher's k + 1 (a model trained on "
     "independent pairs is the 1-rectified flow), fmcl distill keeps it; 0: not a reflow"},
    {"output.dir", F_STRING, OFF(output.dir), 0, 0, 0, SZ(output.dir), NULL, 0,
     "run folder; empty for runs/<name>"},
    {"output.plots", F_BOOL, OFF(output.plots), 0, 0, 0, 0, NULL, 0,
     "write plots into the run folder"},
    {"output.plot_format", F_ENUM, OFF(output.plot_format), 0, 0, 0, 0, fm_plot_format_names, 0,
     "the plots' file format: png, svg or pdf (vector figures)"},
    {"output.plot_dims", F_INT_LIST, OFF(output.plot_dims), 0, 65535, 0, 2, NULL, 0,
     "the two coordinates plots show"},
    {"output.image_shape", F_INT_LIST, OFF(output.image_shape), 1, 1024, 0, 2, NULL, F_EMPTY_OK,
     "[height, width] of image data: samples and trajectories are drawn as images; [] for "
     "points (fashion-mnist: [28, 28])"},
};

void fm_config_defaults(fm_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->seed = 0;
  cfg->device.type = FM_DEVICE_AUTO;
  cfg->device.index = -1;
  fm_strlcpy(cfg->data.name, "8gaussians", sizeof cfg->data.name);
  cfg->data.n_train = 100000;
  cfg->data.test_fraction = 0.1;
  cfg->data.label_column = -1;
  cfg->data.n_test = 2000;
  cfg->model.n_hidden = 3;
  for (int i = 0; i < 3; i++) cfg->model.hidden[i] = 256;
  cfg->model.activation = FM_ACT_SILU;
  cfg->model.time_features = 0;
  cfg->path.scheduler = FM_SCHED_CONDOT;
  cfg->path.sigma_min = 1e-4;
  cfg->path.beta_min = 0.1;
  cfg->path.beta_max = 20.0;
  cfg->path.exponent = 2.0;
  cfg->path.ot_reg = 0.05;
  cfg->reflow.pairs = 20000;
  cfg->reflow.solver = FM_SOLVER_DOPRI5;
  cfg->reflow.steps = 100;
  cfg->source.n = 100000;
  cfg->train.steps = 5000;
  cfg->train.batch = 512;
  cfg->train.lr = 1e-3;
  cfg->train.beta1 = 0.9;
  cfg->train.beta2 = 0.999;
  cfg->train.eps = 1e-8;
  cfg->train.weight_decay = 0.0;
  cfg->train.time_std = 1.0;
  cfg->train.log_every = 100;
  cfg->train.checkpoint_every = 1000;
  cfg->sample.solver = FM_SOLVER_RK4;
  cfg->sample.steps = 25;
  cfg->sample.n = 2000;
  cfg->sample.batch = 8192;
  cfg->sample.rtol = 1e-5;
  cfg->sample.atol = 1e-5;
  cfg->sample.save_every = 5;
  cfg->sample.guidance = 1.0;
  cfg->sample.class_label = -1;
  cfg->sample.time_shift = 1.0;
  cfg->eval.likelihood = 1;
  cfg->eval.solver = FM_SOLVER_DOPRI5;
  cfg->eval.steps = 25;
  cfg->eval.rtol = 1e-5;
  cfg->eval.atol = 1e-5;
  cfg->eval.probes = 4;
  cfg->eval.dequantize = -1;
  cfg->eval.n = 2000;
  cfg->eval.metrics = 1;
  cfg->eval.metric_points = 2000;
  cfg->eval.density_grid = 100;
  cfg->output.plots = 1;
  cfg->output.plot_dims[0] = 0;
  cfg->output.plot_dims[1] = 1;
  cfg->output.n_plot_dims = 2;
}

static const field *find_field(const char *path) {
  for (size_t i = 0; i < FM_ARRAY_LEN(fields); i++)
    if (strcmp(fields[i].path, path) == 0) return &fields[i];
  return NULL;
}

/* Whether some key starts with "prefix." (so prefix is a section). */
static int is_section(const char *prefix) {
  size_t n = strlen(prefix);
  for (size_t i = 0; i < FM_ARRAY_LEN(fields); i++)
    if (strncmp(fields[i].path, prefix, n) == 0 && fields[i].path[n] == '.') return 1;
  return 0;
}

/* The keys directly inside a section ("" for the top level), for "known keys" hints. */
static void section_keys(const char *prefix, char *out, size_t size) {
  size_t n = strlen(prefix);
  out[0] = '\0';
  char last[64] = "";
  for (size_t i = 0; i < FM_ARRAY_LEN(fields); i++) {
    const char *p = fields[i].path;
    if (n && (strncmp(p, prefix, n) != 0 || p[n] != '.')) continue;
    const char *rest = n ? p + n + 1 : p;
    char key[64];
    snprintf(key, sizeof key, "%.*s", (int)strcspn(rest, "."), rest);
    if (strcmp(key, last) == 0) continue; /* the table keeps a section's keys together */
    fm_strlcpy(last, key, sizeof last);
    size_t used = strlen(out);
    snprintf(out + used, size - used, "%s%s", used ? ", " : "", key);
  }
}

/* Edit distance (insertions, deletions, substitutions) between a and b, at most 64 long. */
static int edit_distance(const char *a, const char *b) {
  int la = (int)strlen(a), lb = (int)strlen(b), row[65];
  if (la > 64 || lb > 64) return 99;
  for (int j = 0; j <= lb; j++) row[j] = j;
  for (int i = 1; i <= la; i++) {
    int diag = row[0];
    row[0] = i;
    for (int j = 1; j <= lb; j++) {
      int up = row[j], best = diag + (a[i - 1] != b[j - 1]);
      if (up + 1 < best) best = up + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      diag = up;
      row[j] = best;
    }
  }
  return row[lb];
}

/* " did you mean \"train.steps\"?" for the key closest to path, or "" when none is close
 * (a third of its length in edits at most, and at least 2). */
static void suggestion(const char *path, char *out, size_t size) {
  int best = 99, len = (int)strlen(path);
  char near[64] = "";
  for (size_t i = 0; i < FM_ARRAY_LEN(fields); i++) {
    /* The key, and its section's name ("trian" for "train"). */
    char section[64];
    snprintf(section, sizeof section, "%.*s", (int)strcspn(fields[i].path, "."), fields[i].path);
    const char *candidates[2] = {fields[i].path, section};
    for (int c = 0; c < 2; c++) {
      int d = edit_distance(path, candidates[c]);
      if (d < best) best = d, fm_strlcpy(near, candidates[c], sizeof near);
    }
  }
  int limit = len / 3 > 2 ? len / 3 : 2;
  if (near[0] && best <= limit) snprintf(out, size, "; did you mean \"%s\"?", near);
  else out[0] = '\0';
}

static const char *json_kind(const cJSON *v) {
  if (cJSON_IsString(v)) return "a string";
  if (cJSON_IsNumber(v)) return "a number";
  if (cJSON_IsBool(v)) return "a boolean";
  if (cJSON_IsNull(v)) return "null";
  if (cJSON_IsArray(v)) return "a list";
  if (cJSON_IsObject(v)) return "an object";
  return "an unknown value";
}

/* Describes v for messages: the number itself, or its kind. */
static void describe(const cJSON *v, char *out, size_t size) {
  if (cJSON_IsNumber(v)) snprintf(out, size, "%.17g", v->valuedouble);
  else if (cJSON_IsString(v)) snprintf(out, size, "\"%.60s\"", v->valuestring);
  else snprintf(out, size, "%s", json_kind(v));
}

static fm_status type_error(const char *source, const field *f, const char *expected,
                            const cJSON *v) {
  char got[96];
  describe(v, got, sizeof got);
  return fm_fail(FM_ERR_CONFIG, "%s: %s: expected %s, got %s", source, f->path, expected, got);
}

static int is_integer(double x) { return isfinite(x) && floor(x) == x; }

static void range_text(const field *f, char *out, size_t size) {
  const char *what = f->min == 1 ? "a positive integer" : f->min == 0 ? "an integer >= 0" : NULL;
  if (what && f->max >= BIG) snprintf(out, size, "%s", what);
  else if (what) snprintf(out, size, "%s up to %.0f", what, f->max);
  else snprintf(out, size, "an integer from %.0f to %.0f", f->min, f->max);
}

static fm_status set_int(const char *source, const field *f, const cJSON *v, int *dst) {
  char want[96];
  range_text(f, want, sizeof want);
  if (!cJSON_IsNumber(v) || !is_integer(v->valuedouble) || v->valuedouble < f->min ||
      v->valuedouble > f->max)
    return type_error(source, f, want, v);
  *dst = (int)v->valuedouble;
  return FM_OK;
}

static fm_status apply_value(fm_config *cfg, const field *f, const cJSON *v, const char *source) {
  char *base = (char *)cfg + f->offset;
  char want[160];
  switch (f->type) {
  case F_INT:
    if (cJSON_IsArray(v) && strcmp(f->path, "device.index") == 0)
      return fm_fail(FM_ERR_CONFIG, "%s: device.index names one device; for one device per "
                     "local rank of an MPI job set device.indices (for example [0, 1])", source);
    return set_int(source, f, v, (int *)base);
  case F_SEED:
    if (!cJSON_IsNumber(v) || !is_integer(v->valuedouble) || v->valuedouble < 0 ||
        v->valuedouble > f->max)
      return type_error(source, f, "an integer from 0 to 2^53-1", v);
    *(uint64_t *)base = (uint64_t)v->valuedouble;
    return FM_OK;
  case F_REAL: {
    snprintf(want, sizeof want, "a number %s %g and <= %g", f->min_exclusive ? ">" : ">=", f->min,
             f->max);
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) return type_error(source, f, want, v);
    double x = v->valuedouble;
    if (x < f->min || (f->min_exclusive && x <= f->min) || x > f->max)
      return type_error(source, f, want, v);
    *(double *)base = x;
    return FM_OK;
  }
  case F_BOOL:
    if (!cJSON_IsBool(v)) return type_error(source, f, "true or false", v);
    *(int *)base = cJSON_IsTrue(v) ? 1 : 0;
    return FM_OK;
  case F_STRING:
    if (!cJSON_IsString(v)) return type_error(source, f, "a string", v);
    if (strlen(v->valuestring) >= f->size) {
      snprintf(want, sizeof want, "a string of at most %zu characters", f->size - 1);
      return type_error(source, f, want, v);
    }
    if ((strcmp(f->path, "data.name") == 0 && !fm_data_set_exists(v->valuestring)) ||
        (strcmp(f->path, "source.name") == 0 && v->valuestring[0] &&
         !fm_toy_exists(v->valuestring)))
      return fm_fail(FM_ERR_CONFIG, "%s: %s: unknown data set \"%s\"; choose one of "
                     "8gaussians, moons, circles, checkerboard, 2spirals, pinwheel, swissroll, "
                     "rings%s", source, f->path, v->valuestring,
                     f->path[0] == 'd' ? ", " FM_FASHION_MNIST : "");
    fm_strlcpy(base, v->valuestring, f->size);
    return FM_OK;
  case F_ENUM: {
    want[0] = '\0';
    for (int i = 0; f->names[i]; i++) {
      size_t used = strlen(want);
      snprintf(want + used, sizeof want - used, "%s\"%s\"", i ? " or " : "one of ", f->names[i]);
    }
    if (!cJSON_IsString(v)) return type_error(source, f, want, v);
    for (int i = 0; f->names[i]; i++)
      if (strcmp(f->names[i], v->valuestring) == 0) {
        *(int *)base = i;
        return FM_OK;
      }
    return type_error(source, f, want, v);
  }
  case F_INT_LIST: {
    int least = f->flags & F_EMPTY_OK ? 0 : 1;
    snprintf(want, sizeof want, "a list of %d to %zu integers from %.0f to %.0f", least, f->size,
             f->min, f->max);
    if (!cJSON_IsArray(v)) return type_error(source, f, want, v);
    int n = cJSON_GetArraySize(v);
    if (n < least || (size_t)n > f->size) return type_error(source, f, want, v);
    int values[FM_MAX_LOCAL_RANKS > FM_MAX_HIDDEN ? FM_MAX_LOCAL_RANKS : FM_MAX_HIDDEN];
    for (int i = 0; i < n; i++) {
      const cJSON *item = cJSON_GetArrayItem(v, i);
      if (!cJSON_IsNumber(item) || !is_integer(item->valuedouble) || item->valuedouble < f->min ||
          item->valuedouble > f->max) {
        char got[96];
        describe(item, got, sizeof got);
        return fm_fail(FM_ERR_CONFIG, "%s: %s[%d]: expected an integer from %.0f to %.0f, got %s",
                       source, f->path, i, f->min, f->max, got);
      }
      values[i] = (int)item->valuedouble;
    }
    /* The list and its count are adjacent in the struct: hidden[], then n_hidden. */
    memcpy(base, values, (size_t)n * sizeof(int));
    *(int *)(base + f->size * sizeof(int)) = n;
    return FM_OK;
  }
  case F_REAL_LIST: {
    int least = f->flags & F_EMPTY_OK ? 0 : 1;
    snprintf(want, sizeof want, "a list of %d to %zu numbers from %g to %g", least, f->size,
             f->min, f->max);
    if (!cJSON_IsArray(v)) return type_error(source, f, want, v);
    int n = cJSON_GetArraySize(v);
    if (n < least || (size_t)n > f->size) return type_error(source, f, want, v);
    static double values[FM_MAX_GRID];
    if (f->size > FM_MAX_GRID) return FM_ERR_INVALID; /* a list longer than the buffer */
    int i = 0;
    for (const cJSON *item = v->child; item; item = item->next, i++) {
      if (!cJSON_IsNumber(item) || !(item->valuedouble >= f->min) || item->valuedouble > f->max) {
        char got[96];
        describe(item, got, sizeof got);
        return fm_fail(FM_ERR_CONFIG, "%s: %s[%d]: expected a number from %g to %g, got %s",
                       source, f->path, i, f->min, f->max, got);
      }
      values[i] = item->valuedouble;
    }
    /* The list and its count are adjacent in the struct: times[], then n_times. */
    memcpy(base, values, (size_t)n * sizeof(double));
    *(int *)(base + f->size * sizeof(double)) = n;
    return FM_OK;
  }
  }
  return FM_ERR_INVALID;
}

/* Configs nest two levels (train.steps); a document nested far deeper is not a config. */
#define MAX_NESTING 8

/* How deeply v nests objects and lists (a leaf is 0), counting no further than limit. */
static int nesting(const cJSON *v, int limit) {
  int deepest = 0;
  if (limit <= 0) return 0;
  for (const cJSON *c = v->child; c && deepest < limit; c = c->next) {
    int d = 1 + nesting(c, limit - 1);
    if (d > deepest) deepest = d;
  }
  return deepest;
}

/* Walks a JSON object under prefix, applying leaves and rejecting unknown keys. */
static fm_status overlay(fm_config *cfg, const cJSON *obj, const char *prefix, const char *source) {
  for (const cJSON *item = obj->child; item; item = item->next) {
    char path[256];
    if (!item->string)
      return fm_fail(FM_ERR_CONFIG, "%s: malformed object under %s", source, prefix);
    snprintf(path, sizeof path, "%s%s%s", prefix, prefix[0] ? "." : "", item->string);
    for (const cJSON *later = item->next; later; later = later->next)
      if (later->string && strcmp(later->string, item->string) == 0)
        return fm_fail(FM_ERR_CONFIG, "%s: duplicate key \"%s\"; give each key once", source,
                       path);
    const field *f = find_field(path);
    fm_status st;
    if (f) {
      st = apply_value(cfg, f, item, source);
    } else if (is_section(path)) {
      if (!cJSON_IsObject(item))
        return fm_fail(FM_ERR_CONFIG, "%s: %s: expected an object, got %s", source, path,
                       json_kind(item));
      st = overlay(cfg, item, path, source);
    } else {
      char known[512], hint[128];
      section_keys(prefix, known, sizeof known);
      suggestion(path, hint, sizeof hint);
      return fm_fail(FM_ERR_CONFIG, "%s: unknown key \"%s\"%s%s the keys %s%s are: %s", source,
                     path, hint, hint[0] ? "" : ";", prefix[0] ? "in " : "at the top level",
                     prefix, known);
    }
    if (st != FM_OK) return st;
  }
  return FM_OK;
}

/* Line and column (1-based) of byte offset pos in text. */
static void line_column(const char *text, size_t pos, int *line, int *column) {
  *line = 1, *column = 1;
  for (size_t i = 0; i < pos; i++) {
    if (text[i] == '\n') (*line)++, *column = 1;
    else (*column)++;
  }
}

fm_status fm_config_parse(fm_config *cfg, const char *text, size_t len, const char *source) {
  const char *end = NULL;
  size_t start = 0;
  while (start < len && strchr(" \t\r\n", text[start])) start++;
  if (start == len)
    return fm_fail(FM_ERR_CONFIG, "%s: the file is empty; a config is a JSON object such as "
                   "{\"name\": \"x\", \"train\": {\"steps\": 100}}", source);
  cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
  if (!root) {
    const char *where = cJSON_GetErrorPtr();
    size_t pos = where && where >= text && where <= text + len ? (size_t)(where - text) : len;
    int line, column;
    line_column(text, pos, &line, &column);
    /* The text need not end in a NUL: quote at most 20 bytes of it, printable ones. */
    char near[24] = "(end of file)";
    if (pos < len) {
      size_t n = len - pos < 20 ? len - pos : 20;
      for (size_t i = 0; i < n; i++)
        near[i] = text[pos + i] >= 32 && text[pos + i] < 127 ? text[pos + i] : '?';
      near[n] = '\0';
    }
    return fm_fail(FM_ERR_CONFIG, "%s:%d:%d: JSON syntax error near \"%s\"", source, line,
                   column, near);
  }
  /* Trailing text after the object is an error too. */
  size_t used = (size_t)(end - text);
  while (used < len && strchr(" \t\r\n", text[used])) used++;
  fm_status st = FM_OK;
  if (used < len && text[used] != '\0') {
    int line, column;
    line_column(text, used, &line, &column);
    st = fm_fail(FM_ERR_CONFIG, "%s:%d:%d: unexpected text after the JSON object", source, line,
                 column);
  } else if (!cJSON_IsObject(root)) {
    st = fm_fail(FM_ERR_CONFIG, "%s: expected a JSON object at the top level, got %s", source,
                 json_kind(root));
  } else if (nesting(root, MAX_NESTING + 1) > MAX_NESTING) {
    st = fm_fail(FM_ERR_CONFIG, "%s: objects or lists nested more than %d levels deep; a config "
                 "nests two (e.g. {\"train\": {\"steps\": 100}})", source, MAX_NESTING);
  } else {
    st = overlay(cfg, root, "", source);
  }
  cJSON_Delete(root);
  return st;
}

fm_status fm_config_load(fm_config *cfg, const char *path) {
  char *text = NULL;
  size_t len = 0;
  fm_status st = fm_read_whole(path, "config", FM_ERR_CONFIG, (size_t)64 << 20, &text, &len);
  if (st != FM_OK) return st;
  st = fm_config_parse(cfg, text, len, path);
  free(text);
  return st;
}

fm_status fm_config_set(fm_config *cfg, const char *assignment) {
  const char *eq = strchr(assignment, '=');
  if (!eq || eq == assignment)
    return fm_fail(FM_ERR_CONFIG, "--set %s: expected key.path=value, e.g. --set train.steps=100",
                   assignment);
  char path[256];
  size_t n = (size_t)(eq - assignment);
  if (n >= sizeof path) return fm_fail(FM_ERR_CONFIG, "--set: key too long");
  memcpy(path, assignment, n);
  path[n] = '\0';
  const field *f = find_field(path);
  if (!f) {
    char hint[128];
    suggestion(path, hint, sizeof hint);
    return fm_fail(FM_ERR_CONFIG, "--set: unknown key \"%s\"%s (fmcl config --keys lists every "
                   "key)", path, hint);
  }
  const char *value = eq + 1;
  cJSON *v = cJSON_Parse(value);
  /* A bare word is a string; so is anything given for a string key. */
  if (!v || ((f->type == F_STRING || f->type == F_ENUM) && !cJSON_IsString(v))) {
    cJSON_Delete(v);
    v = cJSON_CreateString(value);
  }
  if (!v) return fm_fail(FM_ERR_NOMEM, "--set: out of memory");
  fm_status st = apply_value(cfg, f, v, "--set");
  cJSON_Delete(v);
  return st;
}

static int key_allowed(const char *assignment, const char *const *allowed) {
  size_t key = strcspn(assignment, "=");
  for (int i = 0; allowed[i]; i++) {
    size_t n = strlen(allowed[i]);
    if (allowed[i][n - 1] == '.' ? strncmp(assignment, allowed[i], n) == 0
                                 : key == n && strncmp(assignment, allowed[i], n) == 0)
      return 1;
  }
  return 0;
}

fm_status fm_config_set_only(fm_config *cfg, const char *const *overrides, int n_overrides,
                             const char *const *allowed, const char *command) {
  for (int i = 0; i < n_overrides; i++) {
    fm_status st = fm_config_set(cfg, overrides[i]);
    if (st != FM_OK) return st;
    if (key_allowed(overrides[i], allowed)) continue;
    char list[600] = "";
    for (int k = 0; allowed[k]; k++) {
      size_t used = strlen(list);
      snprintf(list + used, sizeof list - used, "%s%s%s", k ? ", " : "", allowed[k],
               allowed[k][strlen(allowed[k]) - 1] == '.' ? "*" : "");
    }
    return fm_fail(FM_ERR_CONFIG, "--set %.*s: fmcl %s takes only %s; the other keys describe "
                   "the trained model", (int)strcspn(overrides[i], "="), overrides[i], command,
                   list);
  }
  return FM_OK;
}

void fm_config_resolve(fm_config *cfg) {
  if (cfg->sample.n_times > 0) cfg->sample.steps = cfg->sample.n_times - 1; /* the grid's */
  int fashion = !cfg->data.path[0] && strcmp(cfg->data.name, FM_FASHION_MNIST) == 0;
  if (fashion && cfg->output.n_image_shape == 0)
    cfg->output.image_shape[0] = cfg->output.image_shape[1] = 28, cfg->output.n_image_shape = 2;
  if (cfg->eval.dequantize < 0) cfg->eval.dequantize = fashion ? 2.0 / 255 : 0; /* its pixels' */
  if (cfg->name[0]) return;
  if (!cfg->data.path[0]) {
    fm_strlcpy(cfg->name, cfg->data.name, sizeof cfg->name);
    return;
  }
  /* A data file names the run after itself: dir/cells.npy -> cells. */
  const char *base = strrchr(cfg->data.path, '/');
  base = base ? base + 1 : cfg->data.path;
  fm_strlcpy(cfg->name, base, sizeof cfg->name);
  char *dot = strrchr(cfg->name, '.');
  if (dot && dot != cfg->name) *dot = '\0';
}

/* An explicit grid increases from exactly 0 to exactly 1. */
static fm_status check_grid(const fm_config *cfg) {
  const double *t = cfg->sample.times;
  int n = cfg->sample.n_times;
  if (n == 0) return FM_OK;
  if (n < 2 || t[0] != 0.0 || t[n - 1] != 1.0)
    return fm_fail(FM_ERR_CONFIG, "config: sample.times must run from 0 to 1 (it has %d times, "
                   "from %g to %g), e.g. [0, 0.5, 0.8, 1]", n, t[0], t[n - 1]);
  for (int i = 1; i < n; i++)
    if (!(t[i] > t[i - 1]))
      return fm_fail(FM_ERR_CONFIG, "config: sample.times must increase: time %d is %g after %g",
                     i, t[i], t[i - 1]);
  return FM_OK;
}

fm_status fm_config_validate(const fm_config *cfg) {
  if (cfg->sample.n > 0 && cfg->sample.batch < 1)
    return fm_fail(FM_ERR_CONFIG, "config: sample.batch must be positive");
  fm_status grid = check_grid(cfg);
  if (grid != FM_OK) return grid;
  if ((cfg->path.coupling == FM_COUPLING_PAIRS) != (cfg->reflow.teacher[0] != '\0'))
    return fm_fail(FM_ERR_CONFIG, "config: path.coupling pairs and reflow.teacher go together: "
                   "a model trains on fixed pairs a teacher made; run fmcl reflow or fmcl "
                   "distill --checkpoint TEACHER/model.fmck, which set both");
  if (cfg->model.init_from[0] && cfg->reflow.teacher[0] && cfg->reflow.init == FM_REFLOW_INIT_TEACHER)
    return fm_fail(FM_ERR_CONFIG, "config: model.init_from and reflow.init teacher both choose "
                   "the weights to start from; set reflow.init=fresh to start from "
                   "model.init_from");
  if (cfg->train.time_sampling == FM_TIME_START && cfg->path.coupling != FM_COUPLING_PAIRS)
    return fm_fail(FM_ERR_CONFIG, "config: train.time_sampling start trains only v(x0, 0), the "
                   "one-step map of a teacher's pairs; run fmcl distill for it, or use uniform");
  if (cfg->model.residual) {
    int ok = cfg->model.n_hidden >= 3 && cfg->model.n_hidden % 2 == 1;
    for (int l = 2; ok && l < cfg->model.n_hidden; l += 2)
      ok = cfg->model.hidden[l] == cfg->model.hidden[0];
    if (!ok)
      return fm_fail(FM_ERR_CONFIG, "config: model.residual takes model.hidden as [w, f1, w, f2, "
                     "w, ...], an odd count of at least 3 with every other width the stream's "
                     "w (e.g. [512, 1024, 512, 1024, 512] for two blocks)");
  }
  if (cfg->path.coupling == FM_COUPLING_OT_CLASS && cfg->model.classes == 0)
    return fm_fail(FM_ERR_CONFIG, "config: path.coupling ot_class pairs within the classes of "
                   "a class-conditional model; set model.classes, or use ot");
  if (cfg->sample.solver == FM_SOLVER_DOPRI5 &&
      (cfg->sample.n_times > 0 || cfg->sample.time_shift != 1.0))
    return fm_fail(FM_ERR_CONFIG, "config: sample.times and sample.time_shift lay out the steps "
                   "of a fixed-step solver, and sample.solver dopri5 chooses its own; choose "
                   "euler, midpoint, heun or rk4, or leave the grid out (sample.times=[] and "
                   "sample.time_shift=1)");
  if (cfg->eval.dequantize < 0 && cfg->eval.dequantize != -1)
    return fm_fail(FM_ERR_CONFIG, "config: eval.dequantize: %g; a bin width is positive, 0 for "
                   "continuous data or -1 for the data set's own", cfg->eval.dequantize);
  if (cfg->output.n_image_shape == 1)
    return fm_fail(FM_ERR_CONFIG, "config: output.image_shape: expected [height, width] (or [] "
                   "for points), got one number");
  if (cfg->output.n_plot_dims != 2 || cfg->output.plot_dims[0] == cfg->output.plot_dims[1])
    return fm_fail(FM_ERR_CONFIG, "config: output.plot_dims: expected two different "
                   "coordinates, e.g. [0, 1]");
  if (cfg->source.name[0] && cfg->source.path[0])
    return fm_fail(FM_ERR_CONFIG, "config: set source.name or source.path, not both");
  if (cfg->sample.class_label >= 0 && cfg->sample.class_label >= cfg->model.classes)
    return fm_fail(FM_ERR_CONFIG, "config: sample.class %d needs model.classes above it (now %d)",
                   cfg->sample.class_label, cfg->model.classes);
  if (cfg->model.classes == 0 && (cfg->train.label_dropout > 0 || cfg->sample.guidance != 1.0))
    return fm_fail(FM_ERR_CONFIG, "config: train.label_dropout and sample.guidance need a "
                   "class-conditional model (set model.classes)");
  if (cfg->train.lr_min > cfg->train.lr)
    return fm_fail(FM_ERR_CONFIG, "config: train.lr_min (%g) is above train.lr (%g)",
                   cfg->train.lr_min, cfg->train.lr);
  if (!cfg->data.path[0] && !fm_data_set_exists(cfg->data.name))
    return fm_fail(FM_ERR_CONFIG, "config: data.name: unknown data set \"%s\"", cfg->data.name);
  return FM_OK;
}

/* Finds or creates the object for the section part of path and returns the leaf name. */
static cJSON *section_object(cJSON *root, const char *path, const char **leaf) {
  cJSON *obj = root;
  const char *p = path;
  const char *dot;
  while ((dot = strchr(p, '.'))) {
    char name[64];
    size_t n = (size_t)(dot - p);
    memcpy(name, p, n);
    name[n] = '\0';
    cJSON *child = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!child) child = cJSON_AddObjectToObject(obj, name);
    obj = child;
    p = dot + 1;
  }
  *leaf = p;
  return obj;
}

static cJSON *config_tree(const fm_config *cfg, int model_only) {
  cJSON *root = cJSON_CreateObject();
  for (size_t i = 0; i < FM_ARRAY_LEN(fields); i++) {
    const field *f = &fields[i];
    if (model_only && !(f->flags & F_MODEL)) continue;
    const char *base = (const char *)cfg + f->offset;
    const char *leaf;
    cJSON *obj = section_object(root, f->path, &leaf);
    switch (f->type) {
    case F_INT: cJSON_AddNumberToObject(obj, leaf, *(const int *)base); break;
    case F_SEED: cJSON_AddNumberToObject(obj, leaf, (double)*(const uint64_t *)base); break;
    case F_REAL: cJSON_AddNumberToObject(obj, leaf, *(const double *)base); break;
    case F_STRING: cJSON_AddStringToObject(obj, leaf, base); break;
    case F_BOOL: cJSON_AddBoolToObject(obj, leaf, *(const int *)base); break;
    case F_ENUM: cJSON_AddStringToObject(obj, leaf, f->names[*(const int *)base]); break;
    case F_INT_LIST: {
      int n = *(const int *)(base + f->size * sizeof(int));
      cJSON *list = cJSON_CreateIntArray((const int *)base, n);
      cJSON_AddItemToObject(obj, leaf, list);
      break;
    }
    case F_REAL_LIST: {
      int n = *(const int *)(base + f->size * sizeof(double));
      cJSON *list = cJSON_CreateDoubleArray((const double *)base, n);
      cJSON_AddItemToObject(obj, leaf, list);
      break;
    }
    }
  }
  return root;
}

char *fm_config_to_json(const fm_config *cfg) {
  cJSON *root = config_tree(cfg, 0);
  char *text = cJSON_Print(root);
  cJSON_Delete(root);
  return text;
}

uint64_t fm_config_model_hash(const fm_config *cfg) {
  cJSON *root = config_tree(cfg, 1);
  /* path.ot_reg counts only for the coupling that reads it, so the models of other
   * couplings keep the hash they had before the key existed. */
  if (cfg->path.coupling != FM_COUPLING_SINKHORN)
    cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "path"),
                                            "ot_reg");
  /* Likewise the reflow keys for a model that is not a reflow, and a start it does not
   * have. */
  if (!cfg->reflow.teacher[0]) cJSON_DeleteItemFromObjectCaseSensitive(root, "reflow");
  if (!cfg->data.key[0])
    cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "data"), "key");
  if (!cfg->model.init_from[0])
    cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "model"),
                                            "init_from");
  if (!cfg->model.residual)
    cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "model"),
                                            "residual");
  char *text = cJSON_PrintUnformatted(root);
  cJSON_Delete(root);
  uint64_t h = 1469598103934665603ull;
  for (const char *p = text; p && *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ull;
  free(text);
  return h;
}

void fm_config_run_dir(const fm_config *cfg, char *out, size_t size) {
  if (cfg->output.dir[0]) {
    fm_strlcpy(out, cfg->output.dir, size);
    return;
  }
  fm_config resolved = *cfg;
  fm_config_resolve(&resolved);
  snprintf(out, size, "runs/%s", resolved.name);
}

char *fm_config_reference(int markdown) {
  fm_config d;
  fm_config_defaults(&d);
  cJSON *defaults = config_tree(&d, 0);
  char *text = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&text, &len);
  if (!out) {
    cJSON_Delete(defaults);
    return NULL;
  }
  for (size_t i = 0; i < FM_ARRAY_LEN(fields); i++) {
    const field *f = &fields[i];
    const char *leaf;
    cJSON *obj = section_object(defaults, f->path, &leaf);
    char *value = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(obj, leaf));
    if (markdown)
      fprintf(out, "| `%s` | `%s` | %s |\n", f->path, value ? value : "", f->doc);
    else
      fprintf(out, "  %-22s %-18s %s\n", f->path, value ? value : "", f->doc);
    free(value);
  }
  cJSON_Delete(defaults);
  fclose(out);
  return text;
}
