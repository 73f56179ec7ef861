#ifndef WRITEPATH_CLIBURING_H
#define WRITEPATH_CLIBURING_H
// liburing.h defines _XOPEN_SOURCE before its system includes when it is not yet defined; that
// would give this module a different fd_set than Glibc's and Dispatch's and break the import.
// Including the system headers first fixes the feature macros (features.h is read once).
#include <sys/types.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <signal.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <time.h>
#include <inttypes.h>
#include <stdbool.h>
#if __has_include(<liburing.h>)
#include <liburing.h>
#else
#error "liburing.h not found: install liburing-dev (scripts/install-deps.sh does)"
#endif
#endif
