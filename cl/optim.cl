/* The optimizer over the flat parameter buffer: Adam with decoupled weight decay (AdamW;
 * plain Adam when weight_decay is 0), gradient clipping by the global norm, and an
 * exponential moving average of the weights. Adam is the arithmetic of torch.optim.AdamW:
 *   g *= clip scale;  p *= 1 - lr wd;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
 *   p -= (lr / (1 - b1^t)) m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 * The bias corrections and 1 - beta are computed on the host in double and passed in, as
 * PyTorch passes them from Python. */

/* The global norm is cl/reduce.cl's two passes (fm_sumsq_partials, fm_norm_finish). */

/* clip > 0 scales the gradient by min(1, clip / norm[0]) (torch's clip_grad_norm_). With
 * ema_decay > 0 the EMA of the weights takes the updated p in the same pass:
 * ema = ema_decay ema + one_minus_ema p (1 - decay passed from the host). */
__kernel void fm_adam(__global float *p, __global const float *g, __global float *state, uint n,
                      float beta1, float one_minus_beta1, float beta2, float one_minus_beta2,
                      float eps, float decay, float step_size, float inv_sqrt_bc2,
                      __global const float *norm, float clip, __global float *ema,
                      float ema_decay, float one_minus_ema) {
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
  pi = pi - step_size * mi / (sqrt(vi) * inv_sqrt_bc2 + eps);
  p[i] = pi;
  if (ema_decay > 0.0f) ema[i] = ema_decay * ema[i] + one_minus_ema * pi;
}
