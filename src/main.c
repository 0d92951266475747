/* The fmcl command-line program: parses commands and options, calls the library's run
 * functions, prints errors and chooses the exit status. */
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fmcl/fmcl.h"

enum { EXIT_RUNTIME = 1, EXIT_USAGE = 2, EXIT_NUMERIC = 3 };

/* The first SIGINT or SIGTERM asks the run to stop after the current step and save; a
 * second one ends the program at once. */
static volatile sig_atomic_t stop_signal = 0;

static void on_signal(int sig) {
  if (stop_signal) {
    signal(sig, SIG_DFL);
    raise(sig);
    return;
  }
  stop_signal = sig;
}

/* Where messages go: information, warnings and progress to standard error (progress as
 * one line redrawn in place on a terminal), results to standard output. */
typedef struct terminal {
  int quiet;     /* errors and warnings only */
  int line_open; /* a live progress line is on screen */
} terminal;

static terminal term;

/* Ends a live progress line before other output. */
static void close_line(terminal *t) {
  if (t->line_open) fputc('\n', stderr);
  t->line_open = 0;
}

static void emit(void *ctx, fm_report_kind kind, const char *text) {
  terminal *t = ctx;
  if (t->quiet && (kind == FM_REPORT_INFO || kind == FM_REPORT_PROGRESS)) return;
  if (kind == FM_REPORT_PROGRESS) {
    fprintf(stderr, "\r%s\033[K", text);
    fflush(stderr);
    t->line_open = 1;
    return;
  }
  close_line(t);
  if (kind == FM_REPORT_RESULT) {
    printf("%s\n", text);
    fflush(stdout);
  } else {
    fprintf(stderr, kind == FM_REPORT_WARNING ? "fmcl: warning: %s\n" : "%s\n", text);
  }
}

/* Faults the tests of what survives them inject through FMCL_FAULT: kill@N (SIGKILL after
 * enqueuing step N), int@N (SIGINT), int2@N (SIGINT twice), term@N (SIGTERM), nan@N (NaN
 * parameters after step N), bench@N (device N fails in fmcl bench after its builds). */
typedef struct fault {
  char kind[8];
  unsigned long long at;
} fault;

static fault fault_from_env(void) {
  fault f = {"", 0};
  const char *v = getenv("FMCL_FAULT");
  const char *at = v ? strchr(v, '@') : NULL;
  if (!at || at - v >= (long)sizeof f.kind) return f;
  memcpy(f.kind, v, (size_t)(at - v));
  f.kind[at - v] = '\0';
  f.at = strtoull(at + 1, NULL, 10);
  return f;
}

static fm_status fault_after_step(void *ctx, fm_mlp *mlp, uint64_t step) {
  const fault *f = ctx;
  if (step != f->at) return FM_OK;
  if (strcmp(f->kind, "nan") == 0) {
    fm_mlp_params_changed(mlp);
    return fm_device_fill(fm_mlp_device(mlp), fm_mlp_params(mlp), 0, fm_mlp_flat_size(mlp), NAN);
  }
  if (strcmp(f->kind, "kill") == 0) raise(SIGKILL);
  if (strcmp(f->kind, "term") == 0) raise(SIGTERM);
  if (strcmp(f->kind, "int") == 0 || strcmp(f->kind, "int2") == 0) raise(SIGINT);
  if (strcmp(f->kind, "int2") == 0) raise(SIGINT);
  return FM_OK;
}

static fm_status fault_bench_device(void *ctx, int index) {
  const fault *f = ctx;
  if (strcmp(f->kind, "bench") != 0 || (unsigned long long)index != f->at) return FM_OK;
  return fm_error_raise(FM_ERR_OPENCL, "clEnqueueNDRangeKernel failed: CL_OUT_OF_RESOURCES (-5) "
                 "(injected by FMCL_FAULT)");
}

#define MAX_SETS 256

typedef struct cli {
  const char *command;
  const char *config;
  const char *checkpoint;
  const char *out;
  const char *data;
  const char *devices; /* bench --devices */
  int steps;           /* bench --steps */
  const char *sets[MAX_SETS];
  int n_sets;
  int quiet;
  int profile;
  int resume;
  int keys, markdown; /* fmcl config --keys [--markdown] */
  int live; /* -1 auto */
  int help;
} cli;

static const char *usage_main =
    "usage: fmcl --config EXP.json [--set KEY=VALUE]... [options]\n"
    "       fmcl COMMAND [options]\n"
    "\n"
    "Trains a flow-matching model (Lipman et al., 2022) on an OpenCL device, samples from it\n"
    "with an ODE solver and writes a run folder (runs/<name> unless output.dir is set).\n"
    "\n"
    "commands:\n"
    "  train     train and sample an experiment (the default when --config is given)\n"
    "  sample    sample again from a saved model.fmck\n"
    "  likelihood  NLL of held-out points (or of a data file) under a saved model\n"
    "  devices   list the OpenCL devices and their indices\n"
    "  bench     compare devices on the same experiment\n"
    "  tune      measure the matrix products on a device and store the fastest\n"
    "  data      write an experiment's data set (train.csv, test.csv) to a folder\n"
    "  config    print the resolved config of an experiment, or every key with --keys\n"
    "\n"
    "options:\n"
    "  --config FILE       experiment config (JSON); see configs/\n"
    "  --resume            continue training from the run folder's checkpoint\n"
    "  --set KEY=VALUE     override a config key, e.g. --set train.steps=1000 (repeatable)\n"
    "  --quiet             print errors only\n"
    "  --progress MODE     progress display: auto (live line on a terminal), live, lines\n"
    "  --help              this text; `fmcl COMMAND --help` for a command\n"
    "  --version           fmcl, CLBlast and OpenCL platform versions\n"
    "\n"
    "exit status: 0 done, 1 runtime failure (device, file, memory), 2 bad command line or\n"
    "config, 3 training diverged (NaN loss), 130/143 stopped by SIGINT/SIGTERM after\n"
    "saving a checkpoint\n";

static const char *usage_train =
    "usage: fmcl train --config EXP.json [--set KEY=VALUE]... [--resume] [--quiet]\n"
    "                  [--progress MODE] [--profile]\n"
    "\n"
    "Trains the experiment and samples from the trained model. The run folder gets:\n"
    "  config.json   the resolved config (every key)\n"
    "  train.csv     step,loss,lr,steps_per_s every train.log_every steps\n"
    "  test.csv      the held-out points (x0,x1,...)\n"
    "  samples.csv   sample.n generated points (x0,x1,...)\n"
    "  model.fmck    the trained weights and optimizer state (loadable by fmcl sample)\n"
    "  summary.json  device, timings, steps/s, peak device memory, final loss, NFE\n"
    "  profile.csv   with --profile: device time of every kernel and matrix product per\n"
    "                training step (events slow the steps down a little)\n"
    "Without --config the defaults are used (the reference recipe on 8gaussians).\n"
    "\n"
    "--resume continues from the run folder's model.fmck (same config; train.steps may grow)\n"
    "and ends with the same parameters as an uninterrupted run on the same device.\n"
    "Ctrl-C (SIGINT) or SIGTERM finishes the current step, writes model.fmck and exits\n"
    "with 130 or 143; a second Ctrl-C exits at once.\n";

static const char *usage_sample =
    "usage: fmcl sample --checkpoint RUN/model.fmck [--set KEY=VALUE]... [--out FILE.csv]\n"
    "\n"
    "Samples from a trained model with the config stored in the checkpoint; --set may change\n"
    "sample.solver, sample.steps, sample.n, sample.batch, seed (the source noise) and\n"
    "device.*. Writes FILE.csv, or RUN/samples-<solver><steps>-n<n>.csv by default.\n"
    "example: fmcl sample --checkpoint runs/8gaussians/model.fmck --set sample.n=10000\n";

static const char *usage_likelihood =
    "usage: fmcl likelihood --checkpoint RUN/model.fmck [--data FILE] [--set KEY=VALUE]...\n"
    "                       [--out FILE.csv]\n"
    "\n"
    "The negative log-likelihood (nats and bits per dimension) of points under a trained\n"
    "model: the run's held-out split, or the points of a CSV or NPY file. It integrates the\n"
    "state and the divergence of v from t = 1 back to t = 0 with eval.solver (dopri5 at\n"
    "eval.rtol, eval.atol, or eval.steps fixed steps); the divergence is exact up to 16\n"
    "dimensions, else Hutchinson's estimate with eval.probes Rademacher probes (set\n"
    "eval.divergence to choose). --out writes each point's log-likelihood.\n";

static const char *usage_bench =
    "usage: fmcl bench [--config EXP.json] [--set KEY=VALUE]... [--devices all|gpu|cpu|0,2]\n"
    "                  [--steps N]\n"
    "\n"
    "Runs the experiment on each selected device (default all) for N training steps\n"
    "(default 200) and one sampling pass (10000 points, rk4 with NFE 100), with the same\n"
    "seed, and prints one table: training steps/s, model GFLOP/s and its share of the\n"
    "device's measured FMA peak, sampling points/s, program build time (first build, then\n"
    "again from the driver's cache), final loss, and the largest difference of the loss curve\n"
    "from the first device's (random numbers are counter-based, so the curves agree to float\n"
    "rounding). The table also goes to bench.csv and bench.json in the run folder. With\n"
    "PoCL, POCL_DEVICES=\"basic pthread\" exposes two CPU devices to compare.\n";

static const char *usage_tune =
    "usage: fmcl tune [--config EXP.json] [--set KEY=VALUE]...\n"
    "\n"
    "Measures every matrix product the experiment's model uses (the forward pass, the\n"
    "weight gradients and the gradients passed back, at the training batch and the sampling\n"
    "batch) with fmcl's kernels, CLBlast with its parameters and CLBlast with hand-picked\n"
    "Xgemm parameters, each checked against a reference first, and prints GFLOP/s per\n"
    "shape and the winner. The winners go to the device's tuning file (device.tuning, or\n"
    "~/.cache/fmcl/tuning/<device>-<driver>.json), which later runs with device.gemm auto\n"
    "load. A file for another device or driver, or a damaged one, is ignored with a\n"
    "warning.\n";

static const char *usage_devices =
    "usage: fmcl devices\n"
    "\n"
    "Lists every OpenCL device: index (for device.index), name, vendor, type, compute units,\n"
    "memory and OpenCL version. device.type=auto picks the first GPU, else the first device.\n";

static const char *usage_data =
    "usage: fmcl data --config EXP.json [--set KEY=VALUE]... --out FOLDER\n"
    "\n"
    "Writes the experiment's training and held-out points as FOLDER/train.csv and\n"
    "FOLDER/test.csv (columns x0,x1,label), the same points `fmcl train` uses.\n";

static const char *usage_config =
    "usage: fmcl config [--config EXP.json] [--set KEY=VALUE]...\n"
    "       fmcl config --keys [--markdown]\n"
    "\n"
    "Prints the resolved config as JSON (checking it), or with --keys every key with its\n"
    "default and meaning (--markdown: as a Markdown table).\n";

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "fmcl: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\nrun `fmcl --help` for usage\n");
  va_end(ap);
  return EXIT_USAGE;
}

static int report(fm_status st) {
  close_line(&term);
  if (st == FM_ERR_INTERRUPTED) {
    fprintf(stderr, "fmcl: %s\n", fm_error_message());
    return 128 + (stop_signal ? stop_signal : SIGINT);
  }
  fprintf(stderr, "fmcl: error: %s\n", fm_error_message());
  switch (st) {
  case FM_ERR_CONFIG:
  case FM_ERR_INVALID: return EXIT_USAGE;
  case FM_ERR_NUMERIC: return EXIT_NUMERIC;
  default: return EXIT_RUNTIME;
  }
}

static int parse_args(int argc, char **argv, cli *c) {
  memset(c, 0, sizeof *c);
  c->live = -1;
  int i = 1;
  if (argc > 1 && argv[1][0] != '-') c->command = argv[i++];
  for (; i < argc; i++) {
    const char *a = argv[i];
    const char *next = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      c->help = 1;
    } else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
      c->quiet = 1;
    } else if (strcmp(a, "--profile") == 0) {
      c->profile = 1;
    } else if (strcmp(a, "--resume") == 0) {
      c->resume = 1;
    } else if (strcmp(a, "--keys") == 0) {
      c->keys = 1;
    } else if (strcmp(a, "--markdown") == 0) {
      c->markdown = 1;
    } else if (strcmp(a, "--config") == 0 || strcmp(a, "--checkpoint") == 0 ||
               strcmp(a, "--out") == 0 || strcmp(a, "--set") == 0 ||
               strcmp(a, "--progress") == 0 || strcmp(a, "--data") == 0 ||
               strcmp(a, "--devices") == 0 || strcmp(a, "--steps") == 0) {
      if (!next) return usage_error("%s needs a value", a);
      i++;
      if (strcmp(a, "--config") == 0) c->config = next;
      else if (strcmp(a, "--checkpoint") == 0) c->checkpoint = next;
      else if (strcmp(a, "--out") == 0) c->out = next;
      else if (strcmp(a, "--data") == 0) c->data = next;
      else if (strcmp(a, "--devices") == 0) c->devices = next;
      else if (strcmp(a, "--steps") == 0) {
        char *end;
        long v = strtol(next, &end, 10);
        if (*end || v < 2 || v > 100000000) return usage_error("--steps takes a number >= 2, not '%s'", next);
        c->steps = (int)v;
      }
      else if (strcmp(a, "--progress") == 0) {
        if (strcmp(next, "auto") == 0) c->live = -1;
        else if (strcmp(next, "live") == 0) c->live = 1;
        else if (strcmp(next, "lines") == 0) c->live = 0;
        else return usage_error("--progress takes auto, live or lines, not '%s'", next);
      } else {
        if (c->n_sets == MAX_SETS) return usage_error("too many --set options");
        c->sets[c->n_sets++] = next;
      }
    } else {
      return usage_error("unknown option '%s'", a);
    }
  }
  return 0;
}

static int load_config(const cli *c, fm_config *cfg) {
  fm_config_defaults(cfg);
  fm_status st = FM_OK;
  if (c->config) st = fm_config_load(cfg, c->config);
  for (int i = 0; st == FM_OK && i < c->n_sets; i++) st = fm_config_set(cfg, c->sets[i]);
  fm_config_resolve(cfg);
  if (st == FM_OK) {
    st = fm_config_validate(cfg);
    /* Relations between keys may come from the file or from --set: name both. */
    if (st != FM_OK && c->config) {
      char context[1100];
      snprintf(context, sizeof context, "%s (with the --set overrides): ", c->config);
      fm_error_prepend(context);
    }
  }
  return st == FM_OK ? 0 : report(st);
}

static int cmd_devices(void) {
  fm_device_info *list = NULL;
  int n = 0;
  fm_status st = fm_device_list(&list, &n);
  if (st != FM_OK) return report(st);
  printf("%-5s %-44s %-22s %-5s %5s %10s  %s\n", "index", "name", "vendor", "type", "CUs",
         "memory", "OpenCL");
  for (int i = 0; i < n; i++)
    printf("%-5d %-44.44s %-22.22s %-5s %5u %6.1f GiB  %s (driver %s, platform %s)\n",
           list[i].index, list[i].name, list[i].vendor, list[i].type, list[i].compute_units,
           (double)list[i].global_mem / (1u << 30), list[i].version, list[i].driver,
           list[i].platform);
  free(list);
  return 0;
}

static int cmd_version(void) {
  printf("fmcl %s\n", FMCL_VERSION);
  printf("CLBlast %s (built against)\n", fm_gemm_clblast_version());
  fm_device_info *list = NULL;
  int n = 0;
  if (fm_device_list(&list, &n) != FM_OK) {
    printf("OpenCL: %s\n", fm_error_message());
    return 0;
  }
  for (int i = 0; i < n; i++)
    if (i == 0 || list[i].platform_id != list[i - 1].platform_id) {
      printf("OpenCL platform: %s: %s\n", list[i].platform, list[i].platform_version);
    }
  free(list);
  return 0;
}

int main(int argc, char **argv) {
  cli c;
  if (argc > 1 && strcmp(argv[1], "--version") == 0) return cmd_version();
  int rc = parse_args(argc, argv, &c);
  if (rc) return rc;
  const char *cmd = c.command ? c.command : (c.config || c.n_sets ? "train" : NULL);
  term.quiet = c.quiet;
  fm_reporter reporter = {.emit = emit, .ctx = &term};
  fault flt = fault_from_env();
  int live = c.quiet ? 0 : c.live < 0 ? isatty(STDERR_FILENO) : c.live;
  fm_run_options opt = {.report = &reporter, .live = live, .profile = c.profile,
                        .resume = c.resume, .stop = &stop_signal,
                        .hooks = {.after_step = flt.kind[0] ? fault_after_step : NULL,
                                  .ctx = &flt}};
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);

  if (!cmd) {
    fputs(usage_main, c.help ? stdout : stderr);
    return c.help ? 0 : EXIT_USAGE;
  }
  if (strcmp(cmd, "train") == 0) {
    if (c.help) return fputs(usage_train, stdout), 0;
    fm_config cfg;
    if ((rc = load_config(&c, &cfg))) return rc;
    fm_run_result res;
    fm_status st = fm_run_experiment(&cfg, &opt, &res);
    return st == FM_OK ? 0 : report(st);
  }
  if (strcmp(cmd, "sample") == 0) {
    if (c.help) return fputs(usage_sample, stdout), 0;
    if (!c.checkpoint) return usage_error("sample needs --checkpoint RUN/model.fmck");
    fm_status st = fm_run_sample(c.checkpoint, c.sets, c.n_sets, c.out, &opt, NULL, 0);
    return st == FM_OK ? 0 : report(st);
  }
  if (strcmp(cmd, "likelihood") == 0) {
    if (c.help) return fputs(usage_likelihood, stdout), 0;
    if (!c.checkpoint) return usage_error("likelihood needs --checkpoint RUN/model.fmck");
    fm_status st = fm_run_likelihood(c.checkpoint, c.sets, c.n_sets, c.data, c.out, &opt);
    return st == FM_OK ? 0 : report(st);
  }
  if (strcmp(cmd, "bench") == 0) {
    if (c.help) return fputs(usage_bench, stdout), 0;
    fm_config cfg;
    if ((rc = load_config(&c, &cfg))) return rc;
    fm_bench_params bp = {.devices = c.devices ? c.devices : "all", .steps = c.steps ? c.steps : 200,
                          .report = &reporter, .stop = &stop_signal,
                          .device_hook = flt.kind[0] ? fault_bench_device : NULL,
                          .hook_ctx = &flt};
    fm_status st = fm_bench(&cfg, &bp);
    return st == FM_OK ? 0 : report(st);
  }
  if (strcmp(cmd, "tune") == 0) {
    if (c.help) return fputs(usage_tune, stdout), 0;
    fm_config cfg;
    if ((rc = load_config(&c, &cfg))) return rc;
    fm_status st = fm_tune(&cfg, &reporter, &stop_signal);
    return st == FM_OK ? 0 : report(st);
  }
  if (strcmp(cmd, "devices") == 0) {
    if (c.help) return fputs(usage_devices, stdout), 0;
    return cmd_devices();
  }
  if (strcmp(cmd, "data") == 0) {
    if (c.help) return fputs(usage_data, stdout), 0;
    if (!c.out) return usage_error("data needs --out FOLDER");
    fm_config cfg;
    if ((rc = load_config(&c, &cfg))) return rc;
    fm_status st = fm_run_export_data(&cfg, c.out, &opt);
    return st == FM_OK ? 0 : report(st);
  }
  if (strcmp(cmd, "config") == 0) {
    if (c.help) return fputs(usage_config, stdout), 0;
    if (c.keys) {
      if (c.markdown) printf("| key | default | meaning |\n| --- | --- | --- |\n");
      else printf("  %-22s %-18s %s\n", "key", "default", "meaning");
      char *keys = fm_config_reference(c.markdown);
      if (!keys) return report(FM_ERR_NOMEM);
      fputs(keys, stdout);
      free(keys);
      return 0;
    }
    fm_config cfg;
    if ((rc = load_config(&c, &cfg))) return rc;
    char *json = fm_config_to_json(&cfg);
    puts(json);
    free(json);
    return 0;
  }
  return usage_error("unknown command '%s'", cmd);
}
