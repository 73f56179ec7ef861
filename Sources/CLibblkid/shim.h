#ifndef WRITEPATH_CLIBBLKID_H
#define WRITEPATH_CLIBBLKID_H
/* libblkid (util-linux): the probing `blkid -p` does, for the block-device safety check. */
#if __has_include(<blkid/blkid.h>)
#include <blkid/blkid.h>
#else
#error "blkid/blkid.h not found: install libblkid-dev (scripts/install-deps.sh does)"
#endif
#endif
