/* sandbox_workers.h — extraction workers that misbehave on purpose, shared
 * by the sandbox and extraction-server tests (they run in the children). */
#ifndef PRECIS_SANDBOX_WORKERS_H
#define PRECIS_SANDBOX_WORKERS_H

#include "common/error.h"
#include "extractors/document.h"

/* A one-paragraph document titled arg (a string). */
int sandbox_test_good(void *arg, document **out, perr *err);
/* SIGSEGV with the default action (not the sanitizer's handler). */
int sandbox_test_crashing(void *arg, document **out, perr *err);
/* Writes a complete result (sandbox_test_good's) on the result descriptor,
 * then SIGSEGV: a crash after the output must still be a crash. */
int sandbox_test_crashing_after_result(void *arg, document **out, perr *err);
/* Closes its result and output descriptors, then never returns, idle. */
int sandbox_test_silent_sleeping(void *arg, document **out, perr *err);
/* Never returns, idle. */
int sandbox_test_sleeping(void *arg, document **out, perr *err);
/* Never returns, burning CPU. */
int sandbox_test_looping(void *arg, document **out, perr *err);
/* Allocates and touches up to 16 GB. */
int sandbox_test_hungry(void *arg, document **out, perr *err);
/* Writes a line to stderr and exits with status 7. */
int sandbox_test_exiting(void *arg, document **out, perr *err);
/* A document saying whether descriptor *(int *)arg is "open" or "closed". */
int sandbox_test_fd_probe(void *arg, document **out, perr *err);

#endif
