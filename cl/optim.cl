/* The optimizer over the flat parameter buffer: Adam with decoupled weight decay (AdamW;
 * plain Adam when weight_decay is 0), gradient clipping by the global norm, and an
 * exponential moving average of the weights. Adam is the arithmetic of torch.optim.AdamW:
 *   g *= clip scale;  p *= 1 - lr wd;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
 *   p -= (lr / (1 - b1^t)) m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 * The bias corrections and 1 - beta are computed on the host in double and passed in, as
 * PyTorch passes them from Python. */

#ifndef FM_NORM_WG
#define FM_NORM_WG 64
#endif

/* norm[0] = sqrt(sum of g^2): one work-group, a fixed summation order. */
__kernel __attribute__((reqd_work_group_size(FM_NORM_WG, 1, 1)))
void fm_global_norm(__global const float *g, uint n, __global float *norm) {
  __local float part[FM_NORM_WG];
  uint lid = get_local_id(0);
  float s = 0.0f;
  for (uint i = lid; i < n; i += FM_NORM_WG) s += g[i] * g[i];
  part[lid] = s;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (uint stride = FM_NORM_WG / 2; stride > 0; stride >>= 1) {
    if (lid < stride) part[lid] += part[lid + stride];
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  if (lid == 0) norm[0] = sqrt(part[0]);
}

/* clip > 0 scales the gradient by min(1, clip / norm[0]) (torch's clip_grad_norm_). */
__kernel void fm_adam(__global float *p, __global const float *g, __global float *state, uint n,
                      float beta1, float one_minus_beta1, float beta2, float one_minus_beta2,
                      float eps, float decay, float step_size, float inv_sqrt_bc2,
                      __global const float *norm, float clip) {
  uint i = get_global_id(0);
  if (i >= n) return;
  __global float *m = state, *v = state + n; /* the state buffer is (2, n): m, then v */
  float gi = g[i];
  if (clip > 0.0f) gi *= fmin(1.0f, clip / (norm[0] + 1e-6f));
  float mi = beta1 * m[i] + one_minus_beta1 * gi;
  float vi = beta2 * v[i] + one_minus_beta2 * gi * gi;
  m[i] = mi;
  v[i] = vi;
  float pi = p[i] * decay;
  p[i] = pi - step_size * mi / (sqrt(vi) * inv_sqrt_bc2 + eps);
}

/* ema = decay ema + (1 - decay) p, with 1 - decay passed from the host. */
__kernel void fm_ema(__global float *ema, __global const float *p, uint n, float decay,
                     float one_minus_decay) {
  uint i = get_global_id(0);
  if (i >= n) return;
  ema[i] = decay * ema[i] + one_minus_decay * p[i];
}
