/* A trained model as a safetensors file (an 8-byte little-endian header length, a JSON
 * header, then the tensors' raw little-endian bytes), the format PyTorch's and other
 * libraries' state dicts are exchanged in. */
#ifndef FMCL_SAFETENSORS_H
#define FMCL_SAFETENSORS_H

#include "fmcl/checkpoint.h"

/* Writes the checkpoint's model to path (atomically): the EMA weights when it has them (raw:
 * the trained ones), named and shaped as the state dict of a PyTorch nn.Sequential of
 * Linear and activation modules ("0.weight" (out, in), "0.bias", "2.weight", ...; layer l is
 * module 2 l), F32. __metadata__ describes the model: "dim", "hidden", "activation",
 * "time_features", "classes", "input" (how the first layer's input is made), "mean" and
 * "std" (the standardization, or "null"), "columns", "weights" (ema or raw),
 * "fmcl_version" and "config" (the resolved config), every value a string (JSON for
 * lists and numbers), as the format requires. */
fm_status fm_safetensors_export(const fm_checkpoint *ck, int raw, const char *path);

#endif
