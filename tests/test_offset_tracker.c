/* test_offset_tracker.c — commits with several messages in flight
 * (daemon/offset_tracker.h): out-of-order completion never moves a
 * partition's commit past an unfinished message; a retry holds it back;
 * redeliveries of running or uncommitted messages are duplicates;
 * partitions are independent. */
#include <criterion/criterion.h>

#include "daemon/offset_tracker.h"

Test(offset_tracker, commits_only_up_to_the_first_unfinished_offset)
{
    offset_tracker *t = offset_tracker_new();
    for (int64_t o = 10; o < 14; o++)
        cr_assert_eq(offset_tracker_begin(t, 0, o), OFFSET_NEW);
    cr_assert_eq(offset_tracker_running(t, 0), 4);
    cr_assert_eq(offset_tracker_done(t, 0, 12), -1, "10 and 11 still run");
    cr_assert_eq(offset_tracker_done(t, 0, 11), -1, "10 still runs");
    cr_assert_eq(offset_tracker_done(t, 0, 10), 13, "10, 11, 12 done: commit 13");
    cr_assert_eq(offset_tracker_done(t, 0, 13), 14);
    cr_assert_eq(offset_tracker_running(t, 0), 0);
    offset_tracker_free(t);
}

Test(offset_tracker, a_retry_holds_back_the_commit_and_runs_again)
{
    offset_tracker *t = offset_tracker_new();
    cr_assert_eq(offset_tracker_begin(t, 0, 0), OFFSET_NEW);
    cr_assert_eq(offset_tracker_begin(t, 0, 1), OFFSET_NEW);
    offset_tracker_retry(t, 0, 0);
    cr_assert_eq(offset_tracker_running(t, 0), 1);
    cr_assert_eq(offset_tracker_done(t, 0, 1), -1, "0 waits for its retry");
    cr_assert_eq(offset_tracker_begin(t, 0, 1), OFFSET_DUPLICATE, "1 is done, not committed: skip it");
    cr_assert_eq(offset_tracker_begin(t, 0, 0), OFFSET_RETRY);
    cr_assert_eq(offset_tracker_begin(t, 0, 0), OFFSET_DUPLICATE, "0 runs again: a second copy is skipped");
    cr_assert_eq(offset_tracker_done(t, 0, 0), 2);
    offset_tracker_free(t);
}

Test(offset_tracker, partitions_are_independent_and_forgettable)
{
    offset_tracker *t = offset_tracker_new();
    cr_assert_eq(offset_tracker_begin(t, 0, 5), OFFSET_NEW);
    cr_assert_eq(offset_tracker_begin(t, 1, 5), OFFSET_NEW);
    cr_assert_eq(offset_tracker_begin(t, 1, 6), OFFSET_NEW);
    cr_assert_eq(offset_tracker_done(t, 1, 5), 6, "partition 1 does not wait for partition 0");
    offset_tracker_forget(t, 0);
    cr_assert_eq(offset_tracker_running(t, 0), 0);
    cr_assert_eq(offset_tracker_done(t, 0, 5), -1, "a forgotten partition commits nothing");
    cr_assert_eq(offset_tracker_running(t, 1), 1);
    offset_tracker_free(t);
}
