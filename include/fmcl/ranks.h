/* The processes of one training job: one per device, started by an MPI launcher (mpirun,
 * srun), each a rank. A plain run, or a build without MPI, is one rank and nothing changes.
 * Collectives work on host buffers; every rank calls them in the same order. */
#ifndef FMCL_RANKS_H
#define FMCL_RANKS_H

#include <stddef.h>

#include "fmcl/status.h"

typedef struct fm_ranks {
  int rank, size;             /* this process and how many there are */
  int local_rank, local_size; /* the same among the ranks on this node */
  int mpi;                    /* MPI was initialised (fm_ranks_finish ends it) */
} fm_ranks;

/* One rank, for callers that never start MPI (the tests, the library alone). */
fm_ranks fm_ranks_single(void);

/* Whether the program was started by an MPI launcher (its environment says so). */
int fm_ranks_launched(void);

/* Initialises MPI when the program was started by a launcher, else gives one rank. A
 * build without MPI started by a launcher is an error that says so (each rank would train
 * alone). */
fm_status fm_ranks_start(int *argc, char ***argv, fm_ranks *out);
void fm_ranks_finish(fm_ranks *ranks);

/* Whether MPI is compiled in ("Open MPI 4.1.4", or "none"). */
const char *fm_ranks_mpi_version(void);

/* The rows [*first, *first + count) of n that rank takes of size ranks: as even as
 * possible, the first n % size ranks one more. */
int fm_ranks_share(int n, int size, int rank, int *first);

/* In place: buf (n floats, or n doubles; n below 2^31) becomes the sum over ranks, the
 * same on every rank. One rank: nothing to do. */
fm_status fm_ranks_sum_floats(const fm_ranks *ranks, float *buf, size_t n);
fm_status fm_ranks_sum_doubles(const fm_ranks *ranks, double *buf, size_t n);

/* fm_ranks_sum_floats started without waiting (MPI_Iallreduce): buf must stay untouched
 * until fm_ranks_sums_wait, which waits for every sum started; fm_ranks_sums_progress lets
 * MPI move the started ones on (it progresses them only inside its calls). At most
 * FM_RANKS_MAX_SUMS at once. */
#define FM_RANKS_MAX_SUMS 64
fm_status fm_ranks_sum_floats_begin(const fm_ranks *ranks, float *buf, size_t n);
fm_status fm_ranks_sums_progress(const fm_ranks *ranks);
fm_status fm_ranks_sums_wait(const fm_ranks *ranks);

/* The largest of each rank's value, on every rank. */
fm_status fm_ranks_max_int(const fm_ranks *ranks, int *value);

/* bytes from root to every rank. */
fm_status fm_ranks_broadcast(const fm_ranks *ranks, void *buf, size_t bytes, int root);

/* Each rank's 4-byte values (floats or ints: counts[r] of them from rank r, placed in
 * order) into out on rank 0; counts is the same on every rank, out is only written on
 * rank 0. */
fm_status fm_ranks_gather(const fm_ranks *ranks, const void *mine, const size_t *counts,
                          void *out);

/* Ends the whole job now with the exit code: the way one rank's failure reaches the
 * others, which may be waiting in a collective. Returns only for one rank. */
void fm_ranks_abort(const fm_ranks *ranks, int code);

#endif
