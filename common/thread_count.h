/* thread_count.h — how many threads this process has (from /proc/self/task),
 * for code that must run before any thread starts (a fork that has to be
 * safe, e.g. the extraction server's). */
#ifndef PRECIS_THREAD_COUNT_H
#define PRECIS_THREAD_COUNT_H

/* The number of threads of the calling process; 0 when it cannot be read. */
int thread_count(void);

#endif
