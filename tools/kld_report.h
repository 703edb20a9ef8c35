/* kld_report.h — llama.cpp's `--kl-divergence` output, line for line: the
 * per-chunk table and the closing statistics with the same labels, so
 * scripts written for llama-perplexity read precis's output. */
#ifndef PRECIS_KLD_REPORT_H
#define PRECIS_KLD_REPORT_H

#include <stdio.h>

#include "engine/kld.h"

/* The table's heading (printed once, before chunk 1's row). */
void kld_report_chunk_header(FILE *out);

/* One row: chunk number and the running figures. */
void kld_report_chunk(FILE *out, int chunk, const kld_running *r);

/* "====== Perplexity statistics ======" ... "Same top p: ...". */
void kld_report_summary(FILE *out, const kld_summary *s);

#endif
