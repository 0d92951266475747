/* A measure of a device's arithmetic peak: each work-item runs independent chains of
 * float16 multiply-adds (no memory traffic), so the time is the FMA throughput. */
__kernel void fm_fma_peak(__global float *out, int iterations, float a) {
  float16 c0 = (float16)(get_global_id(0)), c1 = c0 + 1.0f, c2 = c0 + 2.0f, c3 = c0 + 3.0f;
  float16 c4 = c0 + 4.0f, c5 = c0 + 5.0f, c6 = c0 + 6.0f, c7 = c0 + 7.0f;
  const float b = 0.999f;
  for (int i = 0; i < iterations; i++) {
    c0 = c0 * a + b; c1 = c1 * a + b; c2 = c2 * a + b; c3 = c3 * a + b;
    c4 = c4 * a + b; c5 = c5 * a + b; c6 = c6 * a + b; c7 = c7 * a + b;
  }
  float16 s = ((c0 + c1) + (c2 + c3)) + ((c4 + c5) + (c6 + c7));
  out[get_global_id(0)] = s.s0 + s.s5 + s.sa + s.sf;
}
