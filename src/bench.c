/* Device comparison: the same experiment, seed and number of steps on each selected device,
 * in one table. Each device is measured in turn in this process; a device that fails gets
 * its reason in its row and the others still run. */
#include "fmcl/bench.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "fmcl/dataset.h"
#include "fmcl/engine.h"
#include "fmcl/progress.h"
#include "fmcl/sample.h"
#include "fmcl/train.h"
#include "internal.h"
#include "kernels.h"

#define CURVE_EVERY 10 /* steps between the loss reads compared across devices */

typedef struct bench_row {
  int index;
  char name[256], type[16], driver[128], error[512];
  int ok;
  double build_first, build_again; /* seconds to build every program: first, then again */
  double peak;                     /* measured FMA throughput, GFLOP/s */
  double steps_per_s, gflops, points_per_s, final_loss, curve_diff;
  long nfe;
  double *curve;
  int n_curve;
} bench_row;

/* Which devices `spec` selects: all, gpu, cpu, or indices "0,2". */
static int selected(const fm_device_info *d, const char *spec) {
  if (!spec || strcmp(spec, "all") == 0) return 1;
  if (strcmp(spec, "gpu") == 0) return d->is_gpu;
  if (strcmp(spec, "cpu") == 0) return strcmp(d->type, "CPU") == 0;
  for (const char *p = spec; *p;) {
    char *end;
    long v = strtol(p, &end, 10);
    if (end == p) return 0;
    if (v == d->index) return 1;
    p = *end == ',' ? end + 1 : end;
    if (*end && *end != ',') return 0;
  }
  return 0;
}

static fm_status check_spec(const char *spec, int count) {
  if (!spec || !strcmp(spec, "all") || !strcmp(spec, "gpu") || !strcmp(spec, "cpu")) return FM_OK;
  for (const char *p = spec; *p;) {
    char *end;
    long v = strtol(p, &end, 10);
    if (end == p || v < 0 || v >= count || (*end && *end != ','))
      return fm_fail(FM_ERR_CONFIG, "--devices %s: expected all, gpu, cpu or indices like 0,2 "
                     "below %d (see fmcl devices)", spec, count);
    p = *end == ',' ? end + 1 : end;
  }
  return FM_OK;
}

/* Builds every program from source once; *seconds is how long that took. */
static fm_status build_all(fm_device *dev, double *seconds) {
  fm_status st = FM_OK;
  double t0 = fm_seconds();
  for (int i = 0; i < fm_kernels_program_count(); i++) {
    char *source = NULL, origin[512];
    const char *name = fm_kernels_program_name(i);
    FM_TRY(fm_kernels_program_source(name, &source, origin, sizeof origin));
    cl_program prog = NULL;
    st = fm_device_build(dev, origin, source, fm_kernels_program_options(name), &prog);
    free(source);
    if (prog) (void)clReleaseProgram(prog);
    FM_TRY(st);
  }
  *seconds = fm_seconds() - t0;
fail:
  return st;
}

/* The first build (cold, or from the driver's disk cache if an earlier run filled it) and
 * a second one from source (which the driver's cache normally serves). */
static fm_status measure_builds(fm_device *dev, bench_row *row) {
  fm_status st = build_all(dev, &row->build_first);
  return st == FM_OK ? build_all(dev, &row->build_again) : st;
}

/* GFLOP/s of independent float16 multiply-adds on every compute unit. */
static fm_status measure_peak(fm_device *dev, double *gflops) {
  fm_status st = FM_OK;
  cl_kernel k = NULL;
  cl_mem out = NULL;
  const fm_device_info *info = fm_device_get_info(dev);
  size_t local = info->is_gpu ? 64 : 1;
  size_t global = (size_t)(info->compute_units ? info->compute_units : 1) * (info->is_gpu ? 2048 : 16);
  FM_TRY(fm_device_alloc(dev, global * sizeof(float), "peak measure", &out));
  FM_TRY(fm_device_kernel(dev, "bench", "fm_fma_peak", &k));
  float a = 0.9999f;
  cl_int iterations = 1000;
  FM_CL(FM_ARG(k, 0, out));
  FM_CL(FM_ARG(k, 2, a));
  /* Pass 0 compiles (PoCL builds per local size at the first launch), pass 1 calibrates,
   * pass 2 runs for about a tenth of a second and is the measure. */
  for (int pass = 0; pass < 3; pass++) {
    FM_CL(FM_ARG(k, 1, iterations));
    double t0 = fm_seconds();
    FM_TRY(fm_device_launch(dev, k, 1, &global, &local));
    FM_TRY(fm_device_finish(dev));
    double t = fm_seconds() - t0;
    double flops = (double)global * iterations * 8.0 * 16.0 * 2.0;
    *gflops = flops / t * 1e-9;
    if (pass == 1) {
      double scale = t > 0 ? 0.1 / t : 100.0;
      if (scale > 100000) scale = 100000;
      if (scale > 1) iterations = (cl_int)fmin(2e9, iterations * scale);
    }
  }
fail:
  fm_device_release(dev, out);
  return st;
}

/* Trains steps and samples once on one device; fills the row. */
static fm_status measure_device(const fm_bench_params *bp, const fm_config *cfg,
                                const fm_points *train, const fm_device_select *sel,
                                bench_row *row) {
  fm_status st = FM_OK;
  fm_engine *engine = NULL;
  fm_trainer *tr = NULL;
  float *samples = NULL;
  fm_engine_options eo = {.select = sel, .report = bp->report};
  FM_TRY(fm_engine_open(cfg, &eo, &engine));
  fm_device *dev = fm_engine_device(engine);
  FM_TRY(measure_builds(dev, row));
  if (bp->hooks && bp->hooks->device_ready)
    FM_TRY(bp->hooks->device_ready(bp->hooks->ctx, row->index));
  FM_TRY(measure_peak(dev, &row->peak));
  int sample_n = 10000, capacity = cfg->train.batch > 4096 ? cfg->train.batch : 4096;
  FM_TRY(fm_engine_new_model(engine, cfg, train->dim, capacity));
  fm_mlp *mlp = fm_engine_model(engine);
  FM_TRY(fm_trainer_create(mlp, cfg, train, NULL, NULL, &tr));
  row->curve = calloc((size_t)(bp->steps / CURVE_EVERY + 1), sizeof *row->curve);
  if (!row->curve) {
    st = fm_fail(FM_ERR_NOMEM, "out of host memory");
    goto fail;
  }
  double t0 = 0;
  for (int step = 1; step <= bp->steps; step++) {
    FM_TRY(fm_trainer_step(tr));
    if (step == 1) {
      FM_TRY(fm_device_finish(dev));
      t0 = fm_seconds();
    }
    if (step % CURVE_EVERY == 0) {
      fm_loss_report rep;
      FM_TRY(fm_trainer_take_loss(tr, &rep));
      row->curve[row->n_curve++] = rep.mean;
      row->final_loss = rep.mean;
      if (fm_stop_requested(bp->stop)) {
        st = fm_fail(FM_ERR_INTERRUPTED, "bench: interrupted; no table was written");
        goto fail;
      }
    }
  }
  FM_TRY(fm_device_finish(dev));
  double seconds = fm_seconds() - t0;
  row->steps_per_s = bp->steps > 1 && seconds > 0 ? (bp->steps - 1) / seconds : 0;
  row->gflops = row->steps_per_s * 6.0 * fm_mlp_macs_per_row(mlp) * cfg->train.batch * 1e-9;
  /* Sampling: rk4 with 25 steps (NFE 100) for 10000 points. */
  samples = malloc((size_t)sample_n * (size_t)train->dim * sizeof *samples);
  if (!samples) {
    st = fm_fail(FM_ERR_NOMEM, "out of host memory");
    goto fail;
  }
  fm_sample_params sp = {.solver = FM_SOLVER_RK4, .steps = 25, .n = sample_n, .batch = 4096,
                         .seed = cfg->seed, .class_label = -1, .guidance = 1.0,
                         .stop = bp->stop};
  t0 = fm_seconds();
  FM_TRY(fm_sample_generate(mlp, &sp, samples, NULL, &row->nfe));
  row->points_per_s = sample_n / (fm_seconds() - t0);
  row->ok = 1;
fail:
  free(samples);
  fm_trainer_destroy(tr);
  fm_engine_destroy(engine);
  return st;
}

/* The table as Markdown. */
static void report_table(const fm_reporter *report, const bench_row *rows, int n) {
  char table[16384];
  size_t used = (size_t)snprintf(table, sizeof table,
                                 "| device | type | steps/s | GFLOP/s | of peak | points/s (NFE "
                                 "100) | build s (first / again) | final loss | loss curve vs "
                                 "first |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
  for (int i = 0; i < n && used < sizeof table; i++) {
    const bench_row *r = &rows[i];
    if (!r->ok)
      used += (size_t)snprintf(table + used, sizeof table - used,
                               "\n| %d: %s | %s | failed: %s | | | | | | |", r->index, r->name,
                               r->type, r->error);
    else
      used += (size_t)snprintf(
          table + used, sizeof table - used,
          "\n| %d: %s | %s | %.1f | %.1f | %.0f%% of %.0f | %.0f | %.2f / %.2f | %.4f | %.2g |",
          r->index, r->name, r->type, r->steps_per_s, r->gflops, 100 * r->gflops / r->peak,
          r->peak, r->points_per_s, r->build_first, r->build_again, r->final_loss,
          r->curve_diff);
  }
  fm_report(report, FM_REPORT_RESULT, "%s", table);
}

/* A copy of text for a CSV field: commas and newlines become semicolons. */
static void csv_field(const char *text, char *out, size_t size) {
  fm_strlcpy(out, text, size);
  for (char *c = out; *c; c++)
    if (*c == ',' || *c == '\n') *c = ';';
}

/* bench.csv and bench.json in dir, or bench-2.csv and bench-2.json, ... after earlier runs. */
static fm_status write_outputs(const char *dir, const bench_row *rows, int n, int steps,
                               int overwrite, const fm_reporter *report) {
  fm_status st = FM_OK;
  char want[1200], path[1200];
  fm_file f;
  snprintf(want, sizeof want, "%s/bench.csv", dir);
  FM_TRY(fm_output_file(want, 0, overwrite, "", path, sizeof path));
  FM_TRY(fm_file_begin(&f, path, "w"));
  fprintf(f.f, "index,device,type,driver,ok,steps_per_s,gflops,peak_gflops,points_per_s,nfe,"
               "build_first_s,build_again_s,final_loss,loss_curve_max_diff,error\n");
  for (int i = 0; i < n; i++) {
    const bench_row *r = &rows[i];
    char name[256], error[512];
    csv_field(r->name, name, sizeof name);
    csv_field(r->error, error, sizeof error);
    fprintf(f.f, "%d,%s,%s,%s,%d,%.3f,%.3f,%.3f,%.1f,%ld,%.4f,%.4f,%.7g,%.3g,%s\n", r->index, name,
            r->type, r->driver, r->ok, r->steps_per_s, r->gflops, r->peak, r->points_per_s, r->nfe,
            r->build_first, r->build_again, r->final_loss, r->curve_diff, error);
  }
  FM_TRY(fm_file_commit(&f));
  cJSON *root = cJSON_CreateObject();
  cJSON_AddNumberToObject(root, "steps", steps);
  cJSON *list = cJSON_AddArrayToObject(root, "devices");
  for (int i = 0; i < n; i++) {
    const bench_row *r = &rows[i];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "index", r->index);
    cJSON_AddStringToObject(o, "name", r->name);
    cJSON_AddStringToObject(o, "type", r->type);
    cJSON_AddStringToObject(o, "driver", r->driver);
    cJSON_AddBoolToObject(o, "ok", r->ok);
    if (r->ok) {
      cJSON_AddNumberToObject(o, "steps_per_s", r->steps_per_s);
      cJSON_AddNumberToObject(o, "gflops", r->gflops);
      cJSON_AddNumberToObject(o, "peak_gflops", r->peak);
      cJSON_AddNumberToObject(o, "points_per_s", r->points_per_s);
      cJSON_AddNumberToObject(o, "nfe", (double)r->nfe);
      cJSON_AddNumberToObject(o, "build_first_s", r->build_first);
      cJSON_AddNumberToObject(o, "build_again_s", r->build_again);
      cJSON_AddNumberToObject(o, "final_loss", r->final_loss);
      cJSON_AddNumberToObject(o, "loss_curve_max_diff", r->curve_diff);
    } else {
      cJSON_AddStringToObject(o, "error", r->error);
    }
    cJSON_AddItemToArray(list, o);
  }
  char json[1200];
  snprintf(json, sizeof json, "%.*s.json", (int)(strlen(path) - 4), path);
  st = fm_write_json(json, root);
  cJSON_Delete(root);
  if (st == FM_OK) fm_report(report, FM_REPORT_INFO, "bench: table written to %s and %s", path, json);
fail:
  return st;
}

fm_status fm_bench(const fm_config *config, const fm_bench_params *bp) {
  fm_status st = FM_OK;
  fm_device_info *list = NULL;
  int count = 0, n_rows = 0;
  bench_row *rows = NULL;
  fm_dataset data = {0};
  fm_config cfg = *config;
  fm_config_resolve(&cfg);
  char dir[1024];
  const char *devices = bp->devices ? bp->devices : "all";
  if (bp->steps < 2) return fm_fail(FM_ERR_CONFIG, "bench: --steps must be at least 2");
  FM_TRY(fm_device_list(&list, &count));
  FM_TRY(check_spec(devices, count));
  FM_TRY(fm_dataset_load(&cfg, &data));
  fm_config_run_dir(&cfg, dir, sizeof dir);
  FM_TRY(fm_make_dirs(dir));
  rows = calloc((size_t)count, sizeof *rows);
  if (!rows) {
    st = fm_fail(FM_ERR_NOMEM, "out of host memory");
    goto fail;
  }
  for (int i = 0; i < count; i++) {
    if (!selected(&list[i], devices)) continue;
    bench_row *row = &rows[n_rows++];
    row->index = list[i].index;
    fm_strlcpy(row->name, list[i].name, sizeof row->name);
    fm_strlcpy(row->type, list[i].type, sizeof row->type);
    fm_strlcpy(row->driver, list[i].driver, sizeof row->driver);
    fm_report(bp->report, FM_REPORT_INFO, "bench: device %d (%s): %d training steps, 10000 "
              "samples...", row->index, row->name, bp->steps);
    fm_device_select sel = {.kind = FM_DEVICE_AUTO, .index = list[i].index};
    fm_status dst = measure_device(bp, &cfg, &data.train, &sel, row);
    if (dst == FM_ERR_INTERRUPTED) {
      st = dst;
      goto fail;
    }
    if (dst != FM_OK) {
      row->ok = 0;
      fm_strlcpy(row->error, fm_error_message(), sizeof row->error);
      fm_report(bp->report, FM_REPORT_INFO, "bench: device %d failed: %s", row->index, row->error);
    }
  }
  if (n_rows == 0) {
    st = fm_fail(FM_ERR_NO_DEVICE, "bench: --devices %s selects no device; see fmcl devices",
                 devices);
    goto fail;
  }
  /* The loss curves use counter-based random numbers: they agree to float rounding. */
  const bench_row *first = NULL;
  for (int i = 0; i < n_rows && !first; i++)
    if (rows[i].ok) first = &rows[i];
  for (int i = 0; i < n_rows; i++) {
    bench_row *r = &rows[i];
    if (!r->ok || !first) continue;
    for (int j = 0; j < r->n_curve && j < first->n_curve; j++)
      r->curve_diff = fmax(r->curve_diff, fabs(r->curve[j] - first->curve[j]));
  }
  report_table(bp->report, rows, n_rows);
  FM_TRY(write_outputs(dir, rows, n_rows, bp->steps, bp->overwrite, bp->report));
fail:
  for (int i = 0; i < n_rows; i++) free(rows[i].curve);
  free(rows);
  fm_dataset_free(&data);
  free(list);
  return st;
}
