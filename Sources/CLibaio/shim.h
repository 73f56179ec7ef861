#ifndef WRITEPATH_CLIBAIO_H
#define WRITEPATH_CLIBAIO_H
#if __has_include(<libaio.h>)
#include <libaio.h>
#else
#error "libaio.h not found: install libaio-dev (scripts/install-deps.sh does)"
#endif
#endif
