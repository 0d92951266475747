/* Activations at the pre-activation z, for float and float16 (the tiled matrix products
 * apply them in their epilogue; the _16 suffix takes float16). fm_act_X(z, &d) returns
 * act(z) and sets d = act'(z) from the same intermediate values: the forward pass keeps d
 * for the backward pass and the tangents, so neither evaluates the activation again (for
 * silu that saves an exp and a division per element of every backward product). GELU is the
 * exact (erf) form, as PyTorch's default. */
#ifndef FMCL_ACTIVATION_CL /* one copy when a file compiled alone includes it */
#define FMCL_ACTIVATION_CL

#define FM_ACTIVATIONS(T, S)                                                               \
  static inline T fm_act_none##S(T z, T *d) {                                                     \
    *d = (T)(1.0f);                                                                        \
    return z;                                                                              \
  }                                                                                        \
  static inline T fm_act_silu##S(T z, T *d) {                                                     \
    T s = 1.0f / (1.0f + exp(-z));                                                         \
    *d = s * (1.0f + z * (1.0f - s));                                                      \
    return z * s;                                                                          \
  }                                                                                        \
  static inline T fm_act_relu##S(T z, T *d) {                                                     \
    *d = select((T)(0.0f), (T)(1.0f), isgreater(z, (T)(0.0f)));                            \
    return fmax(z, 0.0f);                                                                  \
  }                                                                                        \
  static inline T fm_act_tanh##S(T z, T *d) {                                                     \
    T y = tanh(z);                                                                         \
    *d = 1.0f - y * y;                                                                     \
    return y;                                                                              \
  }                                                                                        \
  static inline T fm_act_gelu##S(T z, T *d) {                                                     \
    T c = 0.5f * (1.0f + erf(z * 0.70710678f));                                            \
    *d = c + z * 0.39894228f * exp(-0.5f * z * z);                                         \
    return z * c;                                                                          \
  }

FM_ACTIVATIONS(float, )
FM_ACTIVATIONS(float16, _16)

#endif /* FMCL_ACTIVATION_CL */
