/* Adam with decoupled weight decay (AdamW; plain Adam when weight_decay is 0) over the flat
 * parameter buffer, the same arithmetic as torch.optim.AdamW:
 *   p *= 1 - lr wd;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
 *   p -= (lr / (1 - b1^t)) m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 * The bias corrections and 1 - beta are computed on the host in double and passed in, as
 * PyTorch passes them from Python. */
__kernel void fm_adam(__global float *p, __global const float *g, __global float *state, uint n,
                      float beta1, float one_minus_beta1, float beta2, float one_minus_beta2,
                      float eps, float decay, float step_size, float inv_sqrt_bc2) {
  uint i = get_global_id(0);
  if (i >= n) return;
  __global float *m = state, *v = state + n; /* the state buffer is (2, n): m, then v */
  float gi = g[i];
  float mi = beta1 * m[i] + one_minus_beta1 * gi;
  float vi = beta2 * v[i] + one_minus_beta2 * gi * gi;
  m[i] = mi;
  v[i] = vi;
  float pi = p[i] * decay;
  p[i] = pi - step_size * mi / (sqrt(vi) * inv_sqrt_bc2 + eps);
}
