/* Adam's host side: bias corrections per step (in double), one kernel launch per update
 * (the EMA of the weights in the same pass), plus the global norm's two reduction passes
 * when clipping. */
#include "fmcl/optim.h"

#include <math.h>
#include <stdlib.h>

#include "internal.h"

struct fm_optim {
  fm_device *dev;
  fm_adam_params p;
  size_t n;
  cl_mem state; /* (2, n): m then v */
  cl_mem norm;  /* (1): the gradient's global norm */
  cl_mem partial; /* (FM_REDUCE_GROUPS_MAX): the norm's first-pass sums */
  cl_mem ema;   /* (n) or NULL */
  uint64_t t;
  cl_kernel k_adam, k_sumsq, k_norm;
};

double fm_lr_at(const fm_lr_schedule *s, uint64_t step) {
  if (s->warmup > 0 && step <= (uint64_t)s->warmup) return s->lr * (double)step / (double)s->warmup;
  if (s->shape == FM_LR_CONSTANT || s->steps <= s->warmup) return s->lr;
  double progress = (double)(step - (uint64_t)s->warmup) / (double)(s->steps - s->warmup);
  if (progress > 1) progress = 1;
  return s->lr_min + 0.5 * (s->lr - s->lr_min) * (1.0 + cos(3.14159265358979323846 * progress));
}

fm_status fm_optim_create(fm_device *dev, size_t n, const fm_adam_params *params, fm_optim **out) {
  fm_status st = FM_OK;
  *out = NULL;
  fm_optim *o = calloc(1, sizeof *o);
  if (!o) return fm_fail(FM_ERR_NOMEM, "out of host memory creating the optimizer");
  o->dev = dev;
  o->p = *params;
  o->n = n;
  FM_TRY(fm_device_alloc(dev, 2 * n * sizeof(float), "Adam state", &o->state));
  FM_TRY(fm_device_fill(dev, o->state, 0, 2 * n, 0.0f));
  FM_TRY(fm_device_alloc(dev, sizeof(float), "gradient norm", &o->norm));
  FM_TRY(fm_device_fill(dev, o->norm, 0, 1, 0.0f));
  FM_TRY(fm_device_alloc(dev, FM_REDUCE_GROUPS_MAX * sizeof(float), "gradient norm sums",
                         &o->partial));
  if (params->ema > 0) FM_TRY(fm_device_alloc(dev, n * sizeof(float), "EMA weights", &o->ema));
  FM_TRY(fm_device_kernel(dev, "optim", "fm_adam", &o->k_adam));
  FM_TRY(fm_device_kernel(dev, "optim", "fm_sumsq_partials", &o->k_sumsq));
  FM_TRY(fm_device_kernel(dev, "optim", "fm_norm_finish", &o->k_norm));
  *out = o;
  return FM_OK;
fail:
  fm_optim_destroy(o);
  return st;
}

void fm_optim_destroy(fm_optim *o) {
  if (!o) return;
  fm_device_release(o->dev, o->state);
  fm_device_release(o->dev, o->norm);
  fm_device_release(o->dev, o->partial);
  fm_device_release(o->dev, o->ema);
  free(o);
}

fm_status fm_optim_step(fm_optim *o, cl_mem params, cl_mem grads, double lr) {
  fm_status st = FM_OK;
  o->t++;
  double bc1 = 1.0 - pow(o->p.beta1, (double)o->t), bc2 = 1.0 - pow(o->p.beta2, (double)o->t);
  float beta1 = (float)o->p.beta1, beta2 = (float)o->p.beta2, eps = (float)o->p.eps;
  float one_minus_beta1 = (float)(1.0 - o->p.beta1), one_minus_beta2 = (float)(1.0 - o->p.beta2);
  float decay = (float)(1.0 - lr * o->p.weight_decay), step_size = (float)(lr / bc1);
  float inv_sqrt_bc2 = (float)(1.0 / sqrt(bc2));
  cl_uint n = (cl_uint)o->n;
  float clip = (float)o->p.clip;
  cl_kernel k = NULL;
  if (clip > 0) {
    k = o->k_sumsq;
    size_t wg = fm_device_kernel_limits(o->dev, k)->reduce_wg, groups = fm_reduce_groups(wg, o->n);
    size_t global = groups * wg;
    cl_uint ug = (cl_uint)groups;
    FM_CL(FM_ARG(k, 0, grads));
    FM_CL(FM_ARG(k, 1, n));
    FM_CL(FM_ARG(k, 2, o->partial));
    FM_TRY(fm_device_launch(o->dev, k, 1, &global, &wg));
    k = o->k_norm;
    FM_CL(FM_ARG(k, 0, o->partial));
    FM_CL(FM_ARG(k, 1, ug));
    FM_CL(FM_ARG(k, 2, o->norm));
    FM_TRY(fm_device_launch(o->dev, k, 1, &wg, &wg));
  }
  float ema_decay = 0.0f, rest = 0.0f;
  if (o->ema) {
    /* Warm-up (as TensorFlow's ExponentialMovingAverage with num_updates): early averages
     * forget the random initial weights quickly instead of dragging them along. */
    double warm = (1.0 + (double)(o->t - 1)) / (10.0 + (double)(o->t - 1));
    double ema = o->p.ema < warm ? o->p.ema : warm;
    ema_decay = (float)ema, rest = (float)(1.0 - ema);
  }
  cl_mem ema_arg = o->ema ? o->ema : o->norm; /* never written without an EMA */
  k = o->k_adam;
  FM_CL(FM_ARG(k, 0, params));
  FM_CL(FM_ARG(k, 1, grads));
  FM_CL(FM_ARG(k, 2, o->state));
  FM_CL(FM_ARG(k, 3, n));
  FM_CL(FM_ARG(k, 4, beta1));
  FM_CL(FM_ARG(k, 5, one_minus_beta1));
  FM_CL(FM_ARG(k, 6, beta2));
  FM_CL(FM_ARG(k, 7, one_minus_beta2));
  FM_CL(FM_ARG(k, 8, eps));
  FM_CL(FM_ARG(k, 9, decay));
  FM_CL(FM_ARG(k, 10, step_size));
  FM_CL(FM_ARG(k, 11, inv_sqrt_bc2));
  FM_CL(FM_ARG(k, 12, o->norm));
  FM_CL(FM_ARG(k, 13, clip));
  FM_CL(FM_ARG(k, 14, ema_arg));
  FM_CL(FM_ARG(k, 15, ema_decay));
  FM_CL(FM_ARG(k, 16, rest));
  size_t global = o->n;
  FM_TRY(fm_device_launch(o->dev, k, 1, &global, NULL));
fail:
  return st;
}

uint64_t fm_optim_steps(const fm_optim *o) { return o->t; }
size_t fm_optim_size(const fm_optim *o) { return o->n; }

fm_status fm_optim_read_state(fm_optim *o, float *host) {
  return fm_device_read(o->dev, o->state, 0, 2 * o->n * sizeof(float), host);
}

fm_status fm_optim_write_state(fm_optim *o, const float *host, uint64_t steps) {
  o->t = steps;
  return fm_device_write(o->dev, o->state, 0, 2 * o->n * sizeof(float), host);
}

cl_mem fm_optim_ema(const fm_optim *o) { return o->ema; }

fm_status fm_optim_reset_ema(fm_optim *o, cl_mem params) {
  if (!o->ema) return FM_OK;
  return fm_device_copy(o->dev, params, 0, o->ema, 0, o->n * sizeof(float));
}
