/* extract_server_loop.h — the extraction server process itself (internal to
 * extractors/; the contract callers use is extract_server.h).
 *
 * One thread, one poll loop over: the control socket (requests, see
 * extract_server_wire.h), a signalfd for SIGCHLD, and the status socket of
 * every running child. Per request it forks a child that maps the request,
 * asks the kernel to SIGKILL it if the server dies, and runs
 * sandbox_child_main. It kills a child when its caller asks ('K') or goes
 * away, reaps every child and sends its wait status and CPU time to the
 * caller. At EOF on the control socket (the parent closed it or died) it
 * kills and reaps what is still running and exits; with PR_SET_PDEATHSIG it
 * is also SIGKILLed when the thread that started it ends.
 */
#ifndef PRECIS_EXTRACT_SERVER_LOOP_H
#define PRECIS_EXTRACT_SERVER_LOOP_H

#include <sys/types.h>

/* In the freshly forked server: closes every descriptor but control_fd and
 * stderr, serves, and _exits (never returns). parent: the pid that forked it. */
_Noreturn void es_server_main(int control_fd, pid_t parent);

#endif
