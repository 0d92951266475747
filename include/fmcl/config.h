/* Experiment configuration: a struct of defaults overlaid by a JSON file and by
 * `--set key.path=value` overrides. Every key is described by one table entry, which
 * drives parsing, validation, the resolved-config output and the documentation. */
#ifndef FMCL_CONFIG_H
#define FMCL_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "fmcl/status.h"
#include "fmcl/types.h"

typedef struct fm_config {
  char name[64];
  uint64_t seed;
  struct {
    fm_device_kind type;
    int index;
    char name[128];
    int indices[FM_MAX_LOCAL_RANKS]; /* per local rank of an MPI job; n_indices 0: none */
    int n_indices;
    fm_gemm_provider gemm;
    char tuning[512];
    char program_cache[512];
  } device;
  struct {
    char name[32];
    char path[512];
    char key[128]; /* the array of an NPZ archive */
    fm_data_format format;
    double test_fraction;
    int standardize;
    int label_column;
    int n_train;
    int n_test;
  } data;
  struct {
    int hidden[FM_MAX_HIDDEN];
    int n_hidden;
    fm_activation activation;
    int time_features;
    int classes;
    int residual; /* residual blocks with layer normalisation (fm_mlp_shape.residual) */
    char init_from[512]; /* weights to start from (.safetensors or .fmck); "": new ones */
  } model;
  struct {
    fm_scheduler scheduler;
    double sigma_min;
    double beta_min, beta_max; /* vp */
    double exponent;           /* polynomial */
    fm_coupling coupling;
    fm_ot_solver ot_solver;
    double ot_reg; /* sinkhorn's entropic regularisation, relative to the largest cost */
    double sigma; /* Gaussian noise around the path (I-CFM) */
  } path;
  struct {
    char name[32]; /* a toy set, or "" for N(0, I) */
    char path[512];
    int n;
  } source;
  struct {
    int steps;
    int batch;
    double lr;
    double beta1, beta2, eps;
    double weight_decay;
    fm_lr_shape lr_schedule;
    int warmup;
    double lr_min;
    double grad_clip;
    double ema;
    fm_time_sampling time_sampling;
    double time_mean, time_std;
    double label_dropout;
    int log_every;
    int checkpoint_every;
    fm_allreduce_kind allreduce;
  } train;
  struct {
    fm_solver_kind solver;
    int steps;
    int n;
    int batch;
    double rtol, atol;
    int save_every;
    double guidance;
    int class_label; /* sample.class */
    double times[FM_MAX_GRID]; /* an explicit time grid from 0 to 1; n_times 0: uniform */
    int n_times;
    double time_shift; /* the SD3 shift of the grid's times; 1: none */
  } sample;
  struct {
    int likelihood;
    fm_solver_kind solver;
    int steps;
    double rtol, atol;
    fm_divergence divergence;
    int probes;
    int n;
    double dequantize; /* bin width of quantized data (0: continuous; -1: by the data set) */
    int metrics;
    int metric_points;
    int density_grid;
  } eval;
  struct { /* a model trained on the (x0, x1) pairs of a teacher: fmcl reflow, fmcl distill */
    char teacher[512]; /* the teacher's checkpoint; "": not a reflow */
    int pairs;         /* noise points the teacher carries */
    fm_solver_kind solver;
    int steps;         /* of a fixed-step solver */
    fm_reflow_init init;
    int generation;    /* k of a k-rectified flow: the teacher's + 1 (0: not a reflow) */
  } reflow;
  struct {
    char dir[512];
    int plots;
    fm_plot_format plot_format;
    int plot_dims[2];
    int n_plot_dims;
    int image_shape[2]; /* height, width of image data; none when n_image_shape is 0 */
    int n_image_shape;
  } output;
} fm_config;

/* The defaults: the reference recipe on 8gaussians. */
void fm_config_defaults(fm_config *cfg);

/* Overlays a JSON document (text of length len) on cfg. source names it in messages
 * ("configs/x.json"). Syntax errors give line and column; unknown keys and bad values
 * name the key path. */
fm_status fm_config_parse(fm_config *cfg, const char *text, size_t len, const char *source);

/* Reads a JSON file and overlays it on cfg. */
fm_status fm_config_load(fm_config *cfg, const char *path);

/* Applies one "key.path=value" override; value is JSON (a number, a list, true) or else
 * taken as a plain string. */
fm_status fm_config_set(fm_config *cfg, const char *assignment);

/* Applies overrides as fm_config_set does, refusing any key outside allowed (a
 * NULL-terminated list; an entry ending in '.' stands for its whole section) with a message
 * saying which keys fmcl `command` takes. */
fm_status fm_config_set_only(fm_config *cfg, const char *const *overrides, int n_overrides,
                             const char *const *allowed, const char *command);

/* Fills the keys whose defaults depend on others: an empty name becomes data.name, or the
 * data file's name without its extension. */
void fm_config_resolve(fm_config *cfg);

/* Checks the relations between keys (the single keys are checked when set). */
fm_status fm_config_validate(const fm_config *cfg);

/* The resolved config as formatted JSON, malloc'd; every key is present. */
char *fm_config_to_json(const fm_config *cfg);

/* The run folder: output.dir, or runs/<name> when it is empty. */
void fm_config_run_dir(const fm_config *cfg, char *out, size_t size);

/* A 64-bit FNV-1a hash of the resolved config with the keys that do not change the model
 * or its training left out (device, output, logging, sampling). */
uint64_t fm_config_model_hash(const fm_config *cfg);

/* Every key with its default and meaning, one per line, as text or as Markdown table rows
 * (the README's config table is this output); malloc'd, NULL when out of memory. */
char *fm_config_reference(int markdown);

#endif
