/* Combinations of ODE stages for the fixed-step solvers; each is one pass over the state
 * (n floats). */

/* y = x + h k (Euler step, midpoint and Heun predictors; y may be x). */
__kernel void fm_axpy(__global float *y, __global const float *x, __global const float *k,
                      float h, uint n) {
  uint i = get_global_id(0);
  if (i >= n) return;
  y[i] = x[i] + h * k[i];
}

/* x += h/2 (k1 + k2) (Heun). */
__kernel void fm_heun_update(__global float *x, __global const float *k1,
                             __global const float *k2, float h, uint n) {
  uint i = get_global_id(0);
  if (i >= n) return;
  x[i] += 0.5f * h * (k1[i] + k2[i]);
}

/* x += h/6 (k1 + 2 k2 + 2 k3 + k4) (classical Runge-Kutta). */
__kernel void fm_rk4_update(__global float *x, __global const float *k1,
                            __global const float *k2, __global const float *k3,
                            __global const float *k4, float h, uint n) {
  uint i = get_global_id(0);
  if (i >= n) return;
  x[i] += (h / 6.0f) * (k1[i] + 2.0f * (k2[i] + k3[i]) + k4[i]);
}
