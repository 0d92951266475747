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

/* The weights of a safetensors file (fmcl's, or a PyTorch nn.Sequential's state dict) as
 * the flat parameters (fm_mlp_layout) of a model of n_layers layers in[l] -> out[l]: every
 * tensor "2l.weight" (out, in) and "2l.bias" (out) present, of F32, F64, F16 or BF16, and no
 * other. Everything a hostile file can get wrong is refused with its name: a header past
 * the end, offsets outside the data, overlapping or leaving holes, a shape that does not
 * match its bytes or the model, an unknown dtype, NaN or infinite weights. name names the
 * file in messages. */
fm_status fm_safetensors_parse_weights(const unsigned char *data, size_t size, const char *name,
                                       int n_layers, const int *in, const int *out, float *flat);

/* A whole model from a file fmcl exported (its metadata holds the config and the
 * standardization), as a checkpoint without optimizer state: what sampling and the
 * likelihood need. Free with fm_checkpoint_free. */
fm_status fm_safetensors_parse(const unsigned char *data, size_t size, const char *name,
                               fm_checkpoint *out);
fm_status fm_safetensors_load(const char *path, fm_checkpoint *out);

/* Whether a path names a safetensors file (it ends in .safetensors). */
int fm_safetensors_is_named(const char *path);

#endif
