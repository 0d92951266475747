/* The fmcl command-line program: parses commands and options, calls the library's run
 * functions, prints their messages and errors, and chooses the exit status. */
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fmcl/fmcl.h"

enum { EXIT_RUNTIME = 1, EXIT_USAGE = 2, EXIT_NUMERIC = 3 };

/* The first SIGINT or SIGTERM asks the command to stop: training saves a checkpoint, later
 * phases stop within a second or two. A second one ends the program at once. */
static volatile sig_atomic_t stop_signal = 0;
/* Ranks above 0 of an MPI job: a second signal is the launcher ending the job, not news. */
static volatile sig_atomic_t second_is_silent = 0;

static void on_signal(int sig) {
  if (stop_signal) {
    static const char text[] = "\nfmcl: second interrupt: stopped at once; the last "
                               "checkpoint and every finished file are kept\n";
    if (!second_is_silent) {
      ssize_t ignored = write(STDERR_FILENO, text, sizeof text - 1);
      (void)ignored;
    }
    signal(sig, SIG_DFL);
    raise(sig);
    return;
  }
  stop_signal = sig;
}

/* The handler stays for every signal (plain signal() is one-shot under strict C11) and
 * interrupted calls resume. Libraries loaded later may put their own handler first (PoCL's
 * LLVM does, to clean up after itself); theirs pass the signal on to this one. */
static void catch_stop_signals(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
}

/* Where messages go: information, warnings and progress to standard error (progress as one
 * line redrawn in place on a terminal, nothing otherwise), results to standard output. */
typedef struct terminal {
  int quiet;     /* errors and warnings only */
  int live;      /* show progress lines */
  int line_open; /* a progress line is on screen */
  char rank[24];  /* "rank 1: " before warnings and errors in an MPI job; "" alone */
} terminal;

static terminal term;

/* Ends a progress line before other output. */
static void close_line(terminal *t) {
  if (t->line_open) fputc('\n', stderr);
  t->line_open = 0;
}

static void emit(void *ctx, fm_report_kind kind, const char *text) {
  terminal *t = ctx;
  if (t->quiet && (kind == FM_REPORT_INFO || kind == FM_REPORT_PROGRESS)) return;
  if (kind == FM_REPORT_PROGRESS) {
    if (!t->live) return;
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
    if (kind == FM_REPORT_WARNING) fprintf(stderr, "fmcl: %swarning: %s\n", t->rank, text);
    else fprintf(stderr, "%s\n", text);
  }
}

/* Faults the tests of what survives them inject through FMCL_FAULT=KIND@WHERE: kill, int,
 * int2 (SIGINT twice), term, nan (NaN parameters) or device (an OpenCL error) after
 * training step N (WHERE = N); int or term when a phase begins (WHERE = sample, metrics,
 * likelihood or plots); bench@N makes device N fail in fmcl bench after its builds. In an
 * MPI job FMCL_FAULT_RANK=R limits the fault to rank R. */
typedef struct fault {
  char kind[8], where[16];
  unsigned long long step; /* when where is a number */
} fault;

static fault fault_from_env(void) {
  fault f = {"", "", 0};
  const char *v = getenv("FMCL_FAULT");
  const char *at = v ? strchr(v, '@') : NULL;
  if (!at || at - v >= (long)sizeof f.kind) return f;
  memcpy(f.kind, v, (size_t)(at - v));
  f.kind[at - v] = '\0';
  snprintf(f.where, sizeof f.where, "%s", at + 1);
  f.step = strtoull(at + 1, NULL, 10);
  return f;
}

static void raise_signals(const fault *f) {
  if (strcmp(f->kind, "kill") == 0) raise(SIGKILL);
  if (strcmp(f->kind, "term") == 0) raise(SIGTERM);
  if (strcmp(f->kind, "int") == 0 || strcmp(f->kind, "int2") == 0) raise(SIGINT);
  if (strcmp(f->kind, "int2") == 0) raise(SIGINT);
}

static fm_status fault_after_step(void *ctx, struct fm_mlp *mlp, uint64_t step) {
  const fault *f = ctx;
  if (step != f->step) return FM_OK;
  if (strcmp(f->kind, "nan") == 0) {
    fm_mlp_params_changed(mlp);
    return fm_device_fill(fm_mlp_device(mlp), fm_mlp_params(mlp), 0, fm_mlp_flat_size(mlp), NAN);
  }
  if (strcmp(f->kind, "device") == 0)
    return fm_error_raise(FM_ERR_OPENCL, "clEnqueueNDRangeKernel failed: CL_OUT_OF_RESOURCES "
                          "(-5) (injected by FMCL_FAULT)");
  raise_signals(f);
  return FM_OK;
}

static void fault_phase(void *ctx, const char *phase) {
  const fault *f = ctx;
  if (strcmp(f->where, phase) == 0) raise_signals(f);
}

static fm_status fault_device_ready(void *ctx, int index) {
  const fault *f = ctx;
  if (strcmp(f->kind, "bench") != 0 || (unsigned long long)index != f->step) return FM_OK;
  return fm_error_raise(FM_ERR_OPENCL, "clEnqueueNDRangeKernel failed: CL_OUT_OF_RESOURCES (-5) "
                        "(injected by FMCL_FAULT)");
}

#define MAX_SETS 256

/* The options, as flags a command may allow. */
enum {
  O_CONFIG = 1 << 0,
  O_SET = 1 << 1,
  O_CHECKPOINT = 1 << 2,
  O_OUT = 1 << 3,
  O_DATA = 1 << 4,
  O_RESUME = 1 << 5,
  O_OVERWRITE = 1 << 6,
  O_PROFILE = 1 << 7,
  O_PROGRESS = 1 << 8,
  O_QUIET = 1 << 9,
  O_DEVICES = 1 << 10,
  O_STEPS = 1 << 11,
  O_KEYS = 1 << 12,
  O_MARKDOWN = 1 << 13,
  O_RAW = 1 << 14
};

static const struct {
  const char *name;
  int flag, takes_value;
} options[] = {
    {"--config", O_CONFIG, 1},       {"--set", O_SET, 1},         {"--checkpoint", O_CHECKPOINT, 1},
    {"--out", O_OUT, 1},             {"--data", O_DATA, 1},       {"--resume", O_RESUME, 0},
    {"--overwrite", O_OVERWRITE, 0}, {"--profile", O_PROFILE, 0}, {"--progress", O_PROGRESS, 1},
    {"--quiet", O_QUIET, 0},         {"-q", O_QUIET, 0},          {"--devices", O_DEVICES, 1},
    {"--steps", O_STEPS, 1},         {"--keys", O_KEYS, 0},       {"--markdown", O_MARKDOWN, 0},
    {"--raw", O_RAW, 0},
};

typedef struct cli {
  const char *command;
  const char *config, *checkpoint, *out, *data;
  const char *devices; /* bench --devices */
  int steps;           /* bench --steps */
  const char *sets[MAX_SETS];
  int n_sets;
  int given; /* the O_ flags of the options on the command line */
  int live;  /* -1 auto */
  int help;
} cli;

static const char usage_main[] =
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
    "  reflow    train a straighter model on the pairs a saved model makes (rectified flow)\n"
    "  distill   train a one-step model on the pairs a saved model makes\n"
    "  export    write a saved model's weights as safetensors (PyTorch state dict names)\n"
    "  devices   list the OpenCL devices and their indices\n"
    "  bench     compare devices on the same experiment\n"
    "  tune      measure the matrix products on a device and store the fastest\n"
    "  data      write an experiment's data set (train.csv, test.csv) to a folder\n"
    "  config    print the resolved config of an experiment, or every key with --keys\n"
    "\n"
    "options (`fmcl COMMAND --help` says which a command takes):\n"
    "  --config FILE       experiment config (JSON); see configs/\n"
    "  --set KEY=VALUE     override a config key, e.g. --set train.steps=1000 (repeatable)\n"
    "  --resume            continue training from the run folder's checkpoint\n"
    "  --overwrite         replace an earlier run or output file instead of keeping it\n"
    "  --quiet             print errors and warnings only\n"
    "  --progress MODE     progress display: auto (live line on a terminal), live, lines\n"
    "  --help              this text; `fmcl COMMAND --help` for a command\n"
    "  --version           fmcl, CLBlast, MPI and OpenCL platform versions\n"
    "\n"
    "exit status: 0 done, 1 runtime failure (device, file, memory), 2 bad command line or\n"
    "config, 3 training diverged (NaN loss), 130/143 stopped by SIGINT/SIGTERM (training\n"
    "saves a checkpoint first)\n";

static const char usage_train[] =
    "usage: fmcl train --config EXP.json [--set KEY=VALUE]... [--resume | --overwrite]\n"
    "                  [--quiet] [--progress MODE] [--profile]\n"
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
    "An earlier run is never replaced silently: when runs/<name> holds one, the new run\n"
    "goes to runs/<name>-2 (-3, ...); an output.dir that holds one is refused. --overwrite\n"
    "replaces the earlier run; --resume continues it from its model.fmck (same config;\n"
    "train.steps may grow for a constant learning rate) and ends with the same parameters\n"
    "as an uninterrupted run on the same device.\n"
    "Ctrl-C (SIGINT) or SIGTERM finishes the current step, writes model.fmck and exits\n"
    "with 130 or 143; during sampling, evaluation or plots it stops within a second or two,\n"
    "keeping the model; a second Ctrl-C exits at once.\n"
    "\n"
    "mpirun -np N fmcl train ... trains one model on N devices (one rank each: device.indices,\n"
    "or the local rank's turn among the devices device.type selects); train.batch stays the\n"
    "global batch and rank 0 writes the run folder.\n";

static const char usage_sample[] =
    "usage: fmcl sample --checkpoint RUN/model.fmck|MODEL.safetensors [--set KEY=VALUE]...\n"
    "                   [--out FILE.csv]\n"
    "                   [--overwrite] [--quiet] [--progress MODE]\n"
    "\n"
    "Samples from a trained model with the config stored in the checkpoint; --set may change\n"
    "sample.solver, sample.steps, sample.n, sample.batch, sample.rtol, sample.atol,\n"
    "sample.guidance, sample.class, sample.times, sample.time_shift, seed (the source noise),\n"
    "device.*, output.dir (where the file goes) and sample.save_every (also writes the states\n"
    "every that many steps to FILE-trajectory.csv and prints the paths' straightness S: 0 for\n"
    "straight paths, exact with euler and 1). Writes FILE.csv (an existing one only with --overwrite), or\n"
    "samples-<solver><steps>-n<n>.csv next to the model (or in output.dir), adding -2, -3,\n"
    "... rather than replacing an earlier file. A model of images (output.image_shape) also\n"
    "gets FILE.png, its samples a row per class (output.plot_format: .svg or .pdf;\n"
    "output.plots=false: none).\n"
    "example: fmcl sample --checkpoint runs/8gaussians/model.fmck --set sample.n=10000\n";

static const char usage_reflow[] =
    "usage: fmcl reflow --checkpoint RUN/model.fmck [--set KEY=VALUE]... [--resume | --overwrite]\n"
    "                   [--quiet] [--progress MODE] [--profile]\n"
    "\n"
    "Reflow (rectified flow): the saved model (the teacher) carries reflow.pairs noise points\n"
    "to data with reflow.solver (dopri5), and a new model trains on those fixed (x0, x1)\n"
    "pairs with the straight path x_t = (1 - t) x0 + t x1 (path.coupling pairs), starting\n"
    "from the teacher's weights (reflow.init). Its paths are straighter, so few solver steps\n"
    "sample well. The teacher's config is the start; --set changes any key but path.*. The\n"
    "run folder is runs/<name>-reflow<k>: the k-rectified flow (reflow.generation; a model\n"
    "trained on independent pairs is the 1-rectified flow, so its reflow is runs/<name>-\n"
    "reflow2); its config.json records the teacher (reflow.teacher). Reflowing a reflowed\n"
    "model gives the next k. A class-conditional teacher needs sample.class.\n"
    "example: fmcl reflow --checkpoint runs/moons/model.fmck --set train.steps=3000\n";

static const char usage_distill[] =
    "usage: fmcl distill --checkpoint RUN/model.fmck [--set KEY=VALUE]... [--resume | --overwrite]\n"
    "                    [--quiet] [--progress MODE] [--profile]\n"
    "\n"
    "Distillation to one step: as fmcl reflow, but the new model trains only at t = 0\n"
    "(train.time_sampling start), so that one Euler step x0 + v(x0, 0) lands on the\n"
    "teacher's x1, and it samples with euler, 1 step (sample.*); it has no likelihood (its\n"
    "field is trained at t = 0 only). The run folder is\n"
    "runs/<name>-distill. Distilling a 2-rectified flow is rectified flow's recipe.\n"
    "example: fmcl distill --checkpoint runs/moons-reflow2/model.fmck\n";

static const char usage_export[] =
    "usage: fmcl export --checkpoint RUN/model.fmck --out MODEL.safetensors [--raw]\n"
    "                   [--overwrite] [--quiet]\n"
    "\n"
    "Writes the model's weights as a safetensors file: the EMA weights when the run kept\n"
    "them (--raw: the trained ones), as the state dict of a PyTorch nn.Sequential of Linear\n"
    "and activation modules (0.weight, 0.bias, 2.weight, ...), with the model's description\n"
    "(dim, hidden, activation, time_features, classes, how its input is made, the data's\n"
    "standardization and column names, the resolved config) in __metadata__. An existing\n"
    "file is replaced only with --overwrite.\n"
    "example: fmcl export --checkpoint runs/moons/model.fmck --out moons.safetensors\n";

static const char usage_likelihood[] =
    "usage: fmcl likelihood --checkpoint RUN/model.fmck|MODEL.safetensors [--data FILE]\n"
    "                       [--set KEY=VALUE]...\n"
    "                       [--out FILE.csv] [--overwrite] [--quiet] [--progress MODE]\n"
    "\n"
    "The negative log-likelihood (nats and bits per dimension) of the first eval.n points of\n"
    "the run's held-out split, or of a CSV or NPY file, under a trained model that starts\n"
    "from N(0, I). It integrates the state and the divergence of v from t = 1 back to t = 0\n"
    "with eval.solver (dopri5 at eval.rtol, eval.atol, or eval.steps fixed steps); the\n"
    "divergence is exact up to 16 dimensions, else Hutchinson's estimate with eval.probes\n"
    "Rademacher probes (set eval.divergence to choose). --set may change eval.*, seed,\n"
    "sample.batch, data.label_column (the classes of --data for a conditional model) and\n"
    "device.*. --out writes each point's log-likelihood. The NLL alone goes to standard\n"
    "output.\n";

static const char usage_bench[] =
    "usage: fmcl bench [--config EXP.json] [--set KEY=VALUE]... [--devices all|gpu|cpu|0,2]\n"
    "                  [--steps N] [--overwrite] [--quiet]\n"
    "\n"
    "Runs the experiment on each selected device (default all) for N training steps\n"
    "(default 200) and one sampling pass (10000 points, rk4 with NFE 100), with the same\n"
    "seed, and prints one table: training steps/s, model GFLOP/s and its share of the\n"
    "device's measured FMA peak, sampling points/s, program build time (first build, then\n"
    "again from the driver's cache), final loss, and the largest difference of the loss curve\n"
    "from the first device's (random numbers are counter-based, so the curves agree to float\n"
    "rounding). The table also goes to bench.csv and bench.json in the run folder (bench-2.csv\n"
    "and so on after earlier benches; --overwrite replaces bench.csv). With PoCL,\n"
    "POCL_DEVICES=\"basic pthread\" exposes two CPU devices to compare.\n";

static const char usage_tune[] =
    "usage: fmcl tune [--config EXP.json] [--set KEY=VALUE]... [--quiet]\n"
    "\n"
    "Measures every matrix product the experiment's model uses (the forward pass, the\n"
    "weight gradients and the gradients passed back, at the training batch and the sampling\n"
    "batch) with fmcl's kernels, CLBlast with its parameters and CLBlast with hand-picked\n"
    "Xgemm parameters, each checked against a reference first, and prints GFLOP/s per\n"
    "shape and the winner. The winners go to the device's tuning file (device.tuning, or\n"
    "~/.cache/fmcl/tuning/<device>-<driver>.json), which later runs with device.gemm auto\n"
    "load. A file for another device or driver, or a damaged one, is ignored with a\n"
    "warning.\n";

static const char usage_devices[] =
    "usage: fmcl devices\n"
    "\n"
    "Lists every OpenCL device: index (for device.index), name, vendor, type, compute units,\n"
    "memory and OpenCL version. device.type=auto picks the first GPU, else the first device.\n";

static const char usage_data[] =
    "usage: fmcl data --config EXP.json [--set KEY=VALUE]... --out FOLDER [--overwrite]\n"
    "                 [--quiet]\n"
    "\n"
    "Writes the experiment's training and held-out points as FOLDER/train.csv and\n"
    "FOLDER/test.csv (columns x0,x1,label), the same points `fmcl train` uses. A folder that\n"
    "holds a train.csv is refused unless --overwrite.\n";

static const char usage_config[] =
    "usage: fmcl config [--config EXP.json] [--set KEY=VALUE]...\n"
    "       fmcl config --keys [--markdown]\n"
    "\n"
    "Prints the resolved config as JSON (checking it), or with --keys every key with its\n"
    "default and meaning (--markdown: as a Markdown table).\n";

/* What each command takes. */
static const struct {
  const char *name;
  const char *usage;
  int allowed;
} commands[] = {
    {"train", usage_train,
     O_CONFIG | O_SET | O_RESUME | O_OVERWRITE | O_PROFILE | O_PROGRESS | O_QUIET},
    {"sample", usage_sample, O_CHECKPOINT | O_SET | O_OUT | O_OVERWRITE | O_PROGRESS | O_QUIET},
    {"likelihood", usage_likelihood,
     O_CHECKPOINT | O_DATA | O_SET | O_OUT | O_OVERWRITE | O_PROGRESS | O_QUIET},
    {"reflow", usage_reflow,
     O_CHECKPOINT | O_SET | O_RESUME | O_OVERWRITE | O_PROGRESS | O_QUIET | O_PROFILE},
    {"distill", usage_distill,
     O_CHECKPOINT | O_SET | O_RESUME | O_OVERWRITE | O_PROGRESS | O_QUIET | O_PROFILE},
    {"export", usage_export, O_CHECKPOINT | O_OUT | O_RAW | O_OVERWRITE | O_QUIET},
    {"bench", usage_bench, O_CONFIG | O_SET | O_DEVICES | O_STEPS | O_OVERWRITE | O_QUIET},
    {"tune", usage_tune, O_CONFIG | O_SET | O_QUIET},
    {"devices", usage_devices, 0},
    {"data", usage_data, O_CONFIG | O_SET | O_OUT | O_OVERWRITE | O_QUIET},
    {"config", usage_config, O_CONFIG | O_SET | O_KEYS | O_MARKDOWN},
};

static const char *usage_of(const char *command) {
  for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
    if (strcmp(commands[i].name, command) == 0) return commands[i].usage;
  return NULL;
}

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
    fprintf(stderr, "fmcl: %s%s\n", term.rank, fm_error_message());
    return 128 + (stop_signal ? stop_signal : SIGINT);
  }
  fprintf(stderr, "fmcl: %serror: %s\n", term.rank, fm_error_message());
  switch (st) {
  case FM_ERR_CONFIG:
  case FM_ERR_INVALID: return EXIT_USAGE;
  case FM_ERR_NUMERIC: return EXIT_NUMERIC;
  default: return EXIT_RUNTIME;
  }
}

static int parse_value(cli *c, int flag, const char *name, const char *value) {
  switch (flag) {
  case O_CONFIG: c->config = value; break;
  case O_CHECKPOINT: c->checkpoint = value; break;
  case O_OUT: c->out = value; break;
  case O_DATA: c->data = value; break;
  case O_DEVICES: c->devices = value; break;
  case O_STEPS: {
    char *end;
    long v = strtol(value, &end, 10);
    if (*end || v < 2 || v > 100000000)
      return usage_error("--steps takes a number >= 2, not '%s'", value);
    c->steps = (int)v;
    break;
  }
  case O_PROGRESS:
    if (strcmp(value, "auto") == 0) c->live = -1;
    else if (strcmp(value, "live") == 0) c->live = 1;
    else if (strcmp(value, "lines") == 0) c->live = 0;
    else return usage_error("--progress takes auto, live or lines, not '%s'", value);
    break;
  case O_SET:
    if (c->n_sets == MAX_SETS) return usage_error("too many --set options");
    c->sets[c->n_sets++] = value;
    break;
  default: return usage_error("%s takes no value", name);
  }
  return 0;
}

static int parse_args(int argc, char **argv, cli *c) {
  memset(c, 0, sizeof *c);
  c->live = -1;
  int i = 1;
  if (argc > 1 && argv[1][0] != '-') c->command = argv[i++];
  for (; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      c->help = 1;
      continue;
    }
    size_t k = 0;
    while (k < sizeof options / sizeof *options && strcmp(options[k].name, a) != 0) k++;
    if (k == sizeof options / sizeof *options) return usage_error("unknown option '%s'", a);
    c->given |= options[k].flag;
    if (!options[k].takes_value) continue;
    if (i + 1 >= argc) return usage_error("%s needs a value", a);
    int rc = parse_value(c, options[k].flag, a, argv[++i]);
    if (rc) return rc;
  }
  return 0;
}

/* Refuses an option the command does not use, rather than ignoring it. */
static int check_options(const cli *c, const char *command) {
  int allowed = 0;
  for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
    if (strcmp(commands[i].name, command) == 0) allowed = commands[i].allowed;
  int extra = c->given & ~allowed;
  for (size_t k = 0; extra && k < sizeof options / sizeof *options; k++)
    if (extra & options[k].flag)
      return usage_error("fmcl %s does not take %s (see fmcl %s --help)", command,
                         options[k].name, command);
  if ((c->given & O_RESUME) && (c->given & O_OVERWRITE))
    return usage_error("--resume continues the earlier run and --overwrite replaces it; "
                       "give one of them");
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
  printf("MPI: %s\n", fm_ranks_mpi_version());
  fm_device_info *list = NULL;
  int n = 0;
  if (fm_device_list(&list, &n) != FM_OK) {
    printf("OpenCL: %s\n", fm_error_message());
    return 0;
  }
  for (int i = 0; i < n; i++)
    if (i == 0 || list[i].platform_id != list[i - 1].platform_id)
      printf("OpenCL platform: %s: %s\n", list[i].platform, list[i].platform_version);
  free(list);
  return 0;
}

static int cmd_config(const cli *c) {
  if (c->given & O_KEYS) {
    int markdown = (c->given & O_MARKDOWN) != 0;
    char *keys = fm_config_reference(markdown);
    if (!keys) return usage_error("out of memory");
    if (markdown) printf("| key | default | meaning |\n| --- | --- | --- |\n");
    else printf("  %-22s %-18s %s\n", "key", "default", "meaning");
    fputs(keys, stdout);
    free(keys);
    return 0;
  }
  fm_config cfg;
  int rc = load_config(c, &cfg);
  if (rc) return rc;
  char *json = fm_config_to_json(&cfg);
  if (!json) return usage_error("out of memory");
  puts(json);
  free(json);
  return 0;
}

/* How an MPI job ends: a rank that failed reports why and ends every rank (the others may
 * wait in a collective for it). A stop the ranks agreed on is reported by rank 0, which ends
 * the job after its checkpoint; the others wait for that. One process: the status. */
static int end_job(fm_ranks *ranks, fm_status st) {
  int rc = 0;
  if (st == FM_ERR_INTERRUPTED && ranks->size > 1 && ranks->rank > 0)
    rc = 128 + (stop_signal ? stop_signal : SIGINT); /* rank 0 reports it and ends the job */
  else if (st != FM_OK)
    rc = report(st);
  if (st != FM_OK && ranks->size > 1 && !(st == FM_ERR_INTERRUPTED && ranks->rank > 0)) {
    fflush(stderr);
    fm_ranks_abort(ranks, rc);
  }
  fm_ranks_finish(ranks);
  return rc;
}

/* The command, in a process that may be one rank of an MPI job. */
static int run_command(const cli *c, const char *cmd, fm_ranks *ranks) {
  if (ranks->size > 1) {
    snprintf(term.rank, sizeof term.rank, "rank %d: ", ranks->rank);
    second_is_silent = ranks->rank > 0;
    if (strcmp(cmd, "train") != 0) {
      if (ranks->rank == 0)
        fprintf(stderr, "fmcl: %s runs in one process; start it without mpirun (only "
                "training is spread over the ranks of an MPI job)\n", cmd);
      return EXIT_USAGE;
    }
  }
  int quiet = (c->given & O_QUIET) != 0 || ranks->rank > 0; /* rank 0 speaks for the job */
  term.quiet = quiet;
  term.live = quiet ? 0 : c->live < 0 ? isatty(STDERR_FILENO) : c->live;
  fm_reporter reporter = {.emit = emit, .ctx = &term};
  fault flt = fault_from_env();
  const char *fault_rank = getenv("FMCL_FAULT_RANK");
  if (fault_rank && atoi(fault_rank) != ranks->rank) flt.kind[0] = '\0';
  fm_fault_hooks hooks = {.after_step = fault_after_step, .phase = fault_phase,
                          .device_ready = fault_device_ready, .ctx = &flt};
  fm_run_options opt = {.report = &reporter, .live = term.live,
                        .profile = (c->given & O_PROFILE) != 0,
                        .resume = (c->given & O_RESUME) != 0,
                        .overwrite = (c->given & O_OVERWRITE) != 0, .stop = &stop_signal,
                        .hooks = flt.kind[0] ? &hooks : NULL, .ranks = ranks};
  catch_stop_signals();

  fm_status st = FM_OK;
  fm_config cfg;
  int rc;
  if (strcmp(cmd, "devices") == 0) return cmd_devices();
  if (strcmp(cmd, "config") == 0) return cmd_config(c);
  if (strcmp(cmd, "sample") == 0 || strcmp(cmd, "likelihood") == 0) {
    if (!c->checkpoint) return usage_error("%s needs --checkpoint RUN/model.fmck", cmd);
    if (strcmp(cmd, "sample") == 0)
      st = fm_run_sample(c->checkpoint, c->sets, c->n_sets, c->out, &opt, NULL, 0);
    else
      st = fm_run_likelihood(c->checkpoint, c->sets, c->n_sets, c->data, c->out, &opt);
    return st == FM_OK ? 0 : report(st);
  }
  if (strcmp(cmd, "reflow") == 0 || strcmp(cmd, "distill") == 0) {
    if (!c->checkpoint) return usage_error("%s needs --checkpoint RUN/model.fmck", cmd);
    fm_run_result res;
    st = fm_run_reflow(c->checkpoint, strcmp(cmd, "distill") == 0, c->sets, c->n_sets, &opt,
                       &res);
    return st == FM_OK ? 0 : report(st);
  }
  if (strcmp(cmd, "export") == 0) {
    if (!c->checkpoint || !c->out)
      return usage_error("export needs --checkpoint RUN/model.fmck and --out MODEL.safetensors");
    st = fm_run_export(c->checkpoint, c->out, (c->given & O_RAW) != 0, &opt);
    return st == FM_OK ? 0 : report(st);
  }
  if (strcmp(cmd, "data") == 0 && !c->out) return usage_error("data needs --out FOLDER");
  if ((rc = load_config(c, &cfg))) {
    if (ranks->size > 1) fm_ranks_abort(ranks, rc); /* a config only this rank cannot read */
    return rc;
  }
  if (strcmp(cmd, "train") == 0) {
    fm_run_result res;
    st = fm_run_experiment(&cfg, &opt, &res);
    if (ranks->size > 1) return end_job(ranks, st);
  } else if (strcmp(cmd, "bench") == 0) {
    fm_bench_params bp = {.devices = c->devices ? c->devices : "all",
                          .steps = c->steps ? c->steps : 200, .overwrite = opt.overwrite,
                          .report = &reporter, .stop = &stop_signal, .hooks = opt.hooks};
    st = fm_bench(&cfg, &bp);
  } else if (strcmp(cmd, "tune") == 0) {
    st = fm_tune(&cfg, &reporter, &stop_signal);
  } else {
    st = fm_run_export_data(&cfg, c->out, &opt);
  }
  return st == FM_OK ? 0 : report(st);
}

int main(int argc, char **argv) {
  cli c;
  if (argc > 1 && strcmp(argv[1], "--version") == 0) return cmd_version();
  int rc = parse_args(argc, argv, &c);
  if (rc) return rc;
  const char *cmd = c.command ? c.command : (c.config || c.n_sets ? "train" : NULL);
  if (!cmd) {
    fputs(usage_main, c.help ? stdout : stderr);
    return c.help ? 0 : EXIT_USAGE;
  }
  const char *usage = usage_of(cmd);
  if (!usage) return usage_error("unknown command '%s'", cmd);
  if (c.help) return fputs(usage, stdout), 0;
  if ((rc = check_options(&c, cmd))) return rc;
  fm_ranks ranks;
  fm_status st = fm_ranks_start(&argc, &argv, &ranks);
  if (st != FM_OK) return report(st);
  rc = run_command(&c, cmd, &ranks);
  fm_ranks_finish(&ranks); /* after end_job: nothing to do */
  return rc;
}
