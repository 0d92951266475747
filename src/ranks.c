/* The job's ranks through MPI when the build has it (FMCL_HAVE_MPI), else one rank. */
#include "fmcl/ranks.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#ifdef FMCL_HAVE_MPI
#include <mpi.h>
#endif

fm_ranks fm_ranks_single(void) {
  fm_ranks r = {.rank = 0, .size = 1, .local_rank = 0, .local_size = 1, .mpi = 0};
  return r;
}

int fm_ranks_launched(void) {
  /* Open MPI's mpirun, PMIx launchers (srun, prterun) and MPICH's Hydra set these. */
  static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK",
                                     "PMI_SIZE"};
  for (size_t i = 0; i < FM_ARRAY_LEN(vars); i++)
    if (getenv(vars[i])) return 1;
  return 0;
}

int fm_ranks_share(int n, int size, int rank, int *first) {
  int base = n / size, extra = n % size;
  *first = rank * base + (rank < extra ? rank : extra);
  return base + (rank < extra ? 1 : 0);
}

#ifdef FMCL_HAVE_MPI

const char *fm_ranks_mpi_version(void) {
  static char version[MPI_MAX_LIBRARY_VERSION_STRING];
  int len = 0;
  MPI_Get_library_version(version, &len);
  char *end = strpbrk(version, ",\n");
  if (end) *end = '\0';
  return version;
}

/* An MPI error as a status with the call and MPI's own words. */
static fm_status mpi_fail(int err, const char *call) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(err, text, &len) != MPI_SUCCESS) snprintf(text, sizeof text, "error %d", err);
  int rank = 0, up = 0;
  MPI_Initialized(&up);
  if (up) MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return fm_fail(FM_ERR_IO, "rank %d: %s failed: %s", rank, call, text);
}

/* MPI counts are ints. */
static fm_status too_many(size_t n) {
  return fm_fail(FM_ERR_INVALID, "summing %zu values over the ranks, more than MPI's 2^31 - 1 "
                 "in one call", n);
}

#define FM_MPI(call)                                                                       \
  do {                                                                                     \
    int mpi_err_ = (call);                                                                 \
    if (mpi_err_ != MPI_SUCCESS) return mpi_fail(mpi_err_, #call);                        \
  } while (0)

fm_status fm_ranks_start(int *argc, char ***argv, fm_ranks *out) {
  *out = fm_ranks_single();
  if (!fm_ranks_launched()) return FM_OK;
  FM_MPI(MPI_Init(argc, argv));
  out->mpi = 1;
  /* Errors come back as codes, so a failing call is reported with its rank. */
  FM_MPI(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
  FM_MPI(MPI_Comm_rank(MPI_COMM_WORLD, &out->rank));
  FM_MPI(MPI_Comm_size(MPI_COMM_WORLD, &out->size));
  MPI_Comm node;
  FM_MPI(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, out->rank, MPI_INFO_NULL,
                             &node));
  FM_MPI(MPI_Comm_rank(node, &out->local_rank));
  FM_MPI(MPI_Comm_size(node, &out->local_size));
  MPI_Comm_free(&node);
  /* A launcher of another MPI starts each process as a job of its own (a singleton). */
  const char *launched = getenv("OMPI_COMM_WORLD_SIZE");
  if (!launched) launched = getenv("PMI_SIZE");
  if (launched && atoi(launched) != out->size) {
    int size = out->size;
    fm_ranks_finish(out);
    *out = fm_ranks_single();
    return fm_fail(FM_ERR_CONFIG, "the launcher started %s ranks, but MPI joined this process "
                   "to a job of %d: each would train alone; this fmcl uses %s, so start it "
                   "with that MPI's mpirun (or srun built for it)", launched, size,
                   fm_ranks_mpi_version());
  }
  return FM_OK;
}

void fm_ranks_finish(fm_ranks *r) {
  if (r->mpi) MPI_Finalize();
  r->mpi = 0;
}

fm_status fm_ranks_sum_floats(const fm_ranks *r, float *buf, size_t n) {
  if (r->size <= 1 || n == 0) return FM_OK;
  if (n > INT_MAX) return too_many(n);
  FM_MPI(MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD));
  return FM_OK;
}

/* The sums started and not yet waited for: MPI's state is the process's. */
static MPI_Request started[FM_RANKS_MAX_SUMS];
static int n_started;

fm_status fm_ranks_sum_floats_begin(const fm_ranks *r, float *buf, size_t n) {
  if (r->size <= 1 || n == 0) return FM_OK;
  if (n > INT_MAX) return too_many(n);
  if (n_started == FM_RANKS_MAX_SUMS)
    return fm_fail(FM_ERR_INVALID, "more than %d gradient sums at once", FM_RANKS_MAX_SUMS);
  FM_MPI(MPI_Iallreduce(MPI_IN_PLACE, buf, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD,
                        &started[n_started]));
  n_started++;
  return FM_OK;
}

fm_status fm_ranks_sums_progress(const fm_ranks *r) {
  int done = 0;
  if (r->size <= 1 || n_started == 0) return FM_OK;
  FM_MPI(MPI_Testall(n_started, started, &done, MPI_STATUSES_IGNORE));
  return FM_OK;
}

fm_status fm_ranks_sums_wait(const fm_ranks *r) {
  if (r->size <= 1 || n_started == 0) return FM_OK;
  int count = n_started;
  n_started = 0;
  FM_MPI(MPI_Waitall(count, started, MPI_STATUSES_IGNORE));
  return FM_OK;
}

fm_status fm_ranks_sum_doubles(const fm_ranks *r, double *buf, size_t n) {
  if (r->size <= 1 || n == 0) return FM_OK;
  if (n > INT_MAX) return too_many(n);
  FM_MPI(MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD));
  return FM_OK;
}

fm_status fm_ranks_max_int(const fm_ranks *r, int *value) {
  if (r->size <= 1) return FM_OK;
  FM_MPI(MPI_Allreduce(MPI_IN_PLACE, value, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD));
  return FM_OK;
}

fm_status fm_ranks_broadcast(const fm_ranks *r, void *buf, size_t bytes, int root) {
  if (r->size <= 1 || bytes == 0) return FM_OK;
  FM_MPI(MPI_Bcast(buf, (int)bytes, MPI_BYTE, root, MPI_COMM_WORLD));
  return FM_OK;
}

fm_status fm_ranks_gather(const fm_ranks *r, const void *mine, const size_t *counts,
                          void *out) {
  if (r->size <= 1) {
    if (counts[0]) memmove(out, mine, counts[0] * 4);
    return FM_OK;
  }
  int *sizes = malloc((size_t)r->size * 2 * sizeof *sizes);
  if (!sizes) return fm_fail(FM_ERR_NOMEM, "out of host memory gathering from %d ranks", r->size);
  int *at = sizes + r->size;
  size_t total = 0;
  for (int i = 0; i < r->size; i++) {
    sizes[i] = (int)counts[i];
    at[i] = (int)total;
    total += counts[i];
  }
  if (total > INT_MAX) {
    free(sizes);
    return fm_fail(FM_ERR_INVALID, "gathering %zu values from the ranks, more than MPI's "
                   "2^31 - 1 in one call; lower sample.n", total);
  }
  MPI_Datatype word; /* 4 bytes as they are: floats and ints alike */
  int err = MPI_Type_contiguous(4, MPI_BYTE, &word);
  if (err == MPI_SUCCESS) err = MPI_Type_commit(&word);
  if (err == MPI_SUCCESS) {
    err = MPI_Gatherv(mine, sizes[r->rank], word, out, sizes, at, word, 0, MPI_COMM_WORLD);
    MPI_Type_free(&word);
  }
  free(sizes);
  if (err != MPI_SUCCESS) return mpi_fail(err, "MPI_Gatherv");
  return FM_OK;
}

void fm_ranks_abort(const fm_ranks *r, int code) {
  if (r->size > 1) MPI_Abort(MPI_COMM_WORLD, code);
}

#else /* no MPI in this build: one rank */

const char *fm_ranks_mpi_version(void) { return "none"; }

fm_status fm_ranks_start(int *argc, char ***argv, fm_ranks *out) {
  (void)argc, (void)argv;
  *out = fm_ranks_single();
  if (fm_ranks_launched())
    return fm_fail(FM_ERR_CONFIG, "started by an MPI launcher, but this fmcl was built without "
                   "MPI, so every rank would train alone; install libopenmpi-dev and build "
                   "again (cmake reports whether it found MPI), or run fmcl without mpirun");
  return FM_OK;
}

void fm_ranks_finish(fm_ranks *r) { (void)r; }

fm_status fm_ranks_sum_floats(const fm_ranks *r, float *buf, size_t n) {
  (void)r, (void)buf, (void)n;
  return FM_OK;
}

fm_status fm_ranks_sum_doubles(const fm_ranks *r, double *buf, size_t n) {
  (void)r, (void)buf, (void)n;
  return FM_OK;
}

fm_status fm_ranks_sum_floats_begin(const fm_ranks *r, float *buf, size_t n) {
  (void)r, (void)buf, (void)n;
  return FM_OK;
}

fm_status fm_ranks_sums_progress(const fm_ranks *r) {
  (void)r;
  return FM_OK;
}

fm_status fm_ranks_sums_wait(const fm_ranks *r) {
  (void)r;
  return FM_OK;
}

fm_status fm_ranks_max_int(const fm_ranks *r, int *value) {
  (void)r, (void)value;
  return FM_OK;
}

fm_status fm_ranks_broadcast(const fm_ranks *r, void *buf, size_t bytes, int root) {
  (void)r, (void)buf, (void)bytes, (void)root;
  return FM_OK;
}

fm_status fm_ranks_gather(const fm_ranks *r, const void *mine, const size_t *counts,
                          void *out) {
  (void)r;
  if (counts[0]) memmove(out, mine, counts[0] * 4);
  return FM_OK;
}

void fm_ranks_abort(const fm_ranks *r, int code) { (void)r, (void)code; }

#endif
