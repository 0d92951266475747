/* Generation: source points x0 ~ N(0, I) carried to data by integrating
 * dx/dt = v_theta(x, t) from t = 0 to 1 with a fixed-step solver. */
#ifndef FMCL_SAMPLE_H
#define FMCL_SAMPLE_H

#include <stddef.h>
#include <stdint.h>

#include "fmcl/mlp.h"
#include "fmcl/report.h"
#include "fmcl/solver.h"

typedef struct fm_sample_params {
  fm_solver_kind solver;
  int steps;         /* fixed-step solvers: the steps of the time grid */
  const double *times; /* (steps + 1) the grid's times from 0 to 1, or NULL: uniform */
  double time_shift;   /* s: every time t of the grid becomes s t / (1 + (s - 1) t); 0 or 1:
                          none */
  int n;             /* points to generate */
  int first_point;   /* the number of the first of them in the whole sample: a rank's share
                        of it starts there, and draws the same points one process does */
  int batch;         /* points integrated at once (at most the model's capacity) */
  uint64_t seed;
  uint32_t stream;   /* the random stream of the source points (0: FM_STREAM_SAMPLE) */
  double rtol, atol; /* dopri5 */
  int save_every;    /* keep the state every this many steps (0: only the end) */
  const float *source; /* (n_source, dim) source points on the host, or NULL: N(0, I) */
  int n_source;
  int classes;     /* of a conditional model (0: unconditional) */
  int class_label; /* the class to generate; -1: uniform per point from (seed, i) */
  double guidance; /* classifier-free guidance w (1: plain conditional) */
  int *labels;     /* (n): receives each point's class, or NULL */
  fm_stop_flag *stop; /* checked between solver steps: FM_ERR_INTERRUPTED (NULL: never) */
  const fm_reporter *report; /* progress lines of a long solve; NULL: none */
} fm_sample_params;

/* Time i (0 .. steps) of the fixed-step solvers' grid: times[i] or i / steps, shifted. */
double fm_sample_grid_time(const fm_sample_params *params, int i);

/* Whether the grid is steps equal steps from 0 to 1 (no explicit times, no shift). */
int fm_sample_grid_is_uniform(const fm_sample_params *params);

/* The times at which states are kept with save_every: 0, then every save_every of the
 * grid's steps, and 1 (a final shorter interval when save_every does not divide steps;
 * only 0 and 1 when steps < 1). Returns how many (it writes at most max); times may be
 * NULL to count. dopri5 keeps the same times, with steps as the grid they are counted on. */
int fm_sample_save_times(const fm_sample_params *params, double *times, int max);

/* Writes n points (n, dim) to out on the host. Point i's source (N(0, I), or a uniform
 * pick of the source points) and class are drawn from (seed, stream, first_point + i), so the result
 * does not depend on the batch size. With guidance w != 1 the velocity is
 * v(null) + w (v(class) - v(null)): two passes of the model per evaluation. *nfe is
 * the number of velocity evaluations per point. With save_every, trajectory (T, n, dim)
 * receives the states at the T = fm_sample_save_times times (NULL: not kept). */
fm_status fm_sample_generate(fm_mlp *mlp, const fm_sample_params *params, float *out,
                             float *trajectory, long *nfe);

/* Generated points in data units, with their trajectory when save_every asks for one.
 * Plain data: free with fm_samples_free. */
typedef struct fm_samples {
  float *x;          /* (n, dim) */
  int *labels;       /* (n) for a conditional model, else NULL */
  float *trajectory; /* (n_times, n, dim) or NULL */
  double *times;     /* (n_times) the saved times */
  int n, dim, n_times;
  long nfe;          /* evaluations of the model per point */
  double seconds;    /* spent generating */
  /* Commands per evaluation of the model, the solver's own included: fmcl's kernel
   * launches and calls into CLBlast (0 when nothing was evaluated). */
  double launches_per_nfe, library_calls_per_nfe;
} fm_samples;

/* fm_sample_generate for params->n points into new arrays (params->labels is set to them),
 * mapped back to data units with mean and std when they are not NULL. */
fm_status fm_sample_draw(fm_mlp *mlp, fm_sample_params *params, const double *mean,
                         const double *std, fm_samples *out);
void fm_samples_free(fm_samples *s);

/* The straightness of the sampled paths over their saved states (Liu et al.'s S): the mean
 * over points of sum_k dt_k |(x(1) - x(0)) - (x(t_k+1) - x(t_k)) / dt_k|^2, 0 for straight
 * paths; exact for a fixed-step solver whose every step is saved (save_every 1), lower
 * when states are skipped. -1 without a trajectory of two steps or more (one step is
 * straight by construction). */
double fm_samples_straightness(const fm_samples *s);

/* The solver as messages name it: "rk4, 25 steps", "rk4, 3 steps at t = 0, 0.5, 0.8, 1"
 * (every time of a grid that is not uniform, up to 33 of them) or "dopri5 (rtol 1e-05,
 * atol 1e-05)". */
void fm_sample_describe(const fm_sample_params *params, char *out, size_t size);

/* Fills x (n, dim) on the device with N(0, I) rows first_row .. first_row + n - 1 of the
 * stream (seed, stream). */
fm_status fm_sample_normal_rows(fm_device *dev, cl_mem x, int n, int dim, uint64_t seed,
                                uint32_t stream, uint32_t first_row);

#endif
