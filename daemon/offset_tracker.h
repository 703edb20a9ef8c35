/* offset_tracker.h — which offsets of a partition may be committed while
 * several of its messages are handled at once.
 *
 * Messages are handed out in offset order per partition but may finish in
 * any order. An offset is committed (as one past it) only when it and every
 * offset handed out before it in its partition have a durable outcome: an
 * unfinished job — running, or waiting to be retried — holds back the
 * commit of everything after it, so a crash redelivers it (and the finished
 * ones after it, which the job store skips as done). Not thread-safe: the
 * consumer's thread owns it.
 */
#ifndef PRECIS_OFFSET_TRACKER_H
#define PRECIS_OFFSET_TRACKER_H

#include <stddef.h>
#include <stdint.h>

typedef struct offset_tracker offset_tracker;

enum { OFFSET_NEW = 0, OFFSET_RETRY = 1, OFFSET_DUPLICATE = -1 };

offset_tracker *offset_tracker_new(void);
void offset_tracker_free(offset_tracker *t);

/* Message (partition, offset) is about to be handled. OFFSET_NEW: first
 * time; OFFSET_RETRY: it was waiting to be retried and runs again;
 * OFFSET_DUPLICATE: it is running or finished but not yet committed (a
 * redelivery after a seek): do not handle it again. -2: out of memory. */
int offset_tracker_begin(offset_tracker *t, int32_t partition, int64_t offset);

/* Its outcome is durable. Returns the offset to commit for the partition
 * (one past the last of the finished run at its start), or -1 when the
 * commit cannot move yet (something before it is unfinished). */
int64_t offset_tracker_done(offset_tracker *t, int32_t partition, int64_t offset);

/* It failed transiently and will run again: it stays unfinished. */
void offset_tracker_retry(offset_tracker *t, int32_t partition, int64_t offset);

/* Messages of the partition being handled now (not waiting to be retried). */
size_t offset_tracker_running(const offset_tracker *t, int32_t partition);

/* The partition is no longer ours: forget everything about it. */
void offset_tracker_forget(offset_tracker *t, int32_t partition);

#endif
