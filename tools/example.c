/* libfmcl from another program: trains a flow-matching model on moons and samples from it.
 *   cc example.c $(pkg-config --cflags --libs fmcl) -o example && ./example [STEPS] */
#include <stdio.h>
#include <stdlib.h>

#include "fmcl/fmcl.h"

int main(int argc, char **argv) {
  fm_config cfg;
  fm_config_defaults(&cfg);
  const char *sets[] = {"data.name=moons", "model.hidden=[64,64]", "train.batch=256"};
  fm_status st = FM_OK;
  for (int i = 0; i < 3 && st == FM_OK; i++) st = fm_config_set(&cfg, sets[i]);
  int steps = argc > 1 ? atoi(argv[1]) : 500;
  fm_engine *engine = NULL;
  fm_trainer *trainer = NULL;
  fm_dataset data = {0};
  fm_samples samples = {0};
  fm_engine_options options = {0};
  if (st == FM_OK) st = fm_engine_open(&cfg, &options, &engine);
  if (st == FM_OK) st = fm_dataset_load(&cfg, &data);
  if (st == FM_OK) st = fm_engine_new_model(engine, &cfg, data.train.dim, 2000);
  fm_mlp *model = st == FM_OK ? fm_engine_model(engine) : NULL;
  if (st == FM_OK) st = fm_trainer_create(model, &cfg, &data.train, NULL, NULL, &trainer);
  for (int step = 1; step <= steps && st == FM_OK; step++) st = fm_trainer_step(trainer);
  fm_loss_report loss = {0};
  if (st == FM_OK) st = fm_trainer_take_loss(trainer, &loss);
  fm_sample_params sp = fm_recipe_sample(&cfg); /* rk4, 25 steps, 2000 points */
  sp.save_every = 0;
  if (st == FM_OK) st = fm_sample_draw(model, &sp, data.mean, data.std, &samples);
  if (st == FM_OK)
    printf("trained %d steps (mean loss %.4f); sampled %d points, the first (%.3f, %.3f)\n",
           steps, loss.mean, samples.n, samples.x[0], samples.x[1]);
  else
    fprintf(stderr, "example: %s: %s\n", fm_status_str(st), fm_error_message());
  fm_samples_free(&samples);
  fm_trainer_destroy(trainer);
  fm_dataset_free(&data);
  fm_engine_destroy(engine);
  return st == FM_OK ? 0 : 1;
}
