/* offset_tracker.c — per-partition windows of handed-out offsets (see offset_tracker.h). */
#include "daemon/offset_tracker.h"

#include <stdlib.h>
#include <string.h>

#include "common/grow.h"

typedef enum entry_state { ENTRY_RUNNING, ENTRY_RETRY, ENTRY_DONE } entry_state;

typedef struct entry {
    int32_t partition;
    int64_t offset;
    entry_state state;
} entry;

/* Every partition's handed-out, uncommitted offsets, ascending per partition. */
struct offset_tracker {
    entry *e;
    size_t n, cap;
};

offset_tracker *offset_tracker_new(void)
{
    return calloc(1, sizeof(offset_tracker));
}

void offset_tracker_free(offset_tracker *t)
{
    if (!t)
        return;
    free(t->e);
    free(t);
}

static entry *find(const offset_tracker *t, int32_t partition, int64_t offset)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->e[i].partition == partition && t->e[i].offset == offset)
            return &t->e[i];
    return NULL;
}

static int append(offset_tracker *t, int32_t partition, int64_t offset)
{
    entry *grown = grow_to(t->e, &t->cap, t->n + 1, sizeof *grown, 16);
    if (!grown)
        return -2;
    t->e = grown;
    t->e[t->n++] = (entry){.partition = partition, .offset = offset, .state = ENTRY_RUNNING};
    return OFFSET_NEW;
}

int offset_tracker_begin(offset_tracker *t, int32_t partition, int64_t offset)
{
    entry *e = find(t, partition, offset);
    if (!e)
        return append(t, partition, offset);
    if (e->state != ENTRY_RETRY)
        return OFFSET_DUPLICATE;
    e->state = ENTRY_RUNNING;
    return OFFSET_RETRY;
}

static void remove_at(offset_tracker *t, size_t i)
{
    memmove(&t->e[i], &t->e[i + 1], (t->n - i - 1) * sizeof *t->e);
    t->n--;
}

/* The lowest tracked offset of the partition, or -1 when none. */
static long lowest(const offset_tracker *t, int32_t partition)
{
    long at = -1;
    for (size_t i = 0; i < t->n; i++)
        if (t->e[i].partition == partition && (at < 0 || t->e[i].offset < t->e[at].offset))
            at = (long)i;
    return at;
}

int64_t offset_tracker_done(offset_tracker *t, int32_t partition, int64_t offset)
{
    entry *e = find(t, partition, offset);
    if (!e)
        return -1;
    e->state = ENTRY_DONE;
    int64_t commit = -1;
    long at;
    while ((at = lowest(t, partition)) >= 0 && t->e[at].state == ENTRY_DONE) {
        commit = t->e[at].offset + 1;
        remove_at(t, (size_t)at);
    }
    return commit;
}

void offset_tracker_retry(offset_tracker *t, int32_t partition, int64_t offset)
{
    entry *e = find(t, partition, offset);
    if (e)
        e->state = ENTRY_RETRY;
}

size_t offset_tracker_running(const offset_tracker *t, int32_t partition)
{
    size_t n = 0;
    for (size_t i = 0; i < t->n; i++)
        n += t->e[i].partition == partition && t->e[i].state == ENTRY_RUNNING;
    return n;
}

void offset_tracker_forget(offset_tracker *t, int32_t partition)
{
    for (size_t i = t->n; i-- > 0;)
        if (t->e[i].partition == partition)
            remove_at(t, i);
}
