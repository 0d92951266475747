/* libFuzzer's entry point for one target, chosen with -DFUZZ_TARGET=fuzz_config,
 * fuzz_checkpoint or fuzz_datafile (tools/fuzz.sh builds each). */
#include "targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  FUZZ_TARGET(data, size);
  return 0;
}
