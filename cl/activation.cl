/* Activations and their derivatives at the pre-activation z, for float and float16 (the
 * tiled matrix products apply them in their epilogue). fm_act_X(z), fm_dact_X(z); the _16
 * suffix takes float16. GELU is the exact (erf) form, as PyTorch's default. */

#define FM_ACTIVATIONS(T, S)                                                               \
  inline T fm_act_none##S(T z) { return z; }                                               \
  inline T fm_dact_none##S(T z) { return (T)(1.0f); }                                      \
  inline T fm_act_silu##S(T z) { return z / (1.0f + exp(-z)); }                            \
  inline T fm_dact_silu##S(T z) {                                                          \
    T s = 1.0f / (1.0f + exp(-z));                                                         \
    return s * (1.0f + z * (1.0f - s));                                                    \
  }                                                                                        \
  inline T fm_act_relu##S(T z) { return fmax(z, 0.0f); }                                   \
  inline T fm_dact_relu##S(T z) { return select((T)(0.0f), (T)(1.0f), isgreater(z, (T)(0.0f))); } \
  inline T fm_act_tanh##S(T z) { return tanh(z); }                                         \
  inline T fm_dact_tanh##S(T z) {                                                          \
    T y = tanh(z);                                                                         \
    return 1.0f - y * y;                                                                   \
  }                                                                                        \
  inline T fm_act_gelu##S(T z) { return 0.5f * z * (1.0f + erf(z * 0.70710678f)); }        \
  inline T fm_dact_gelu##S(T z) {                                                          \
    return 0.5f * (1.0f + erf(z * 0.70710678f)) + z * 0.39894228f * exp(-0.5f * z * z);    \
  }

FM_ACTIVATIONS(float, )
FM_ACTIVATIONS(float16, _16)
