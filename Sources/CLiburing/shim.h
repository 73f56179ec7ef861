#ifndef WRITEPATH_CLIBURING_H
#define WRITEPATH_CLIBURING_H
#if __has_include(<liburing.h>)
#include <liburing.h>
#else
#error "liburing.h not found: install liburing-dev (scripts/install-deps.sh does)"
#endif
#endif
