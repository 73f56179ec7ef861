#!/bin/sh
# writepath: minimal block hotplug script for phy backends (libxl sets XENBUS_PATH).
case "$1" in
add)
    p=$(xenstore-read "$XENBUS_PATH/params")
    case "$p" in /*) ;; *) p=/dev/$p ;; esac
    mm=$(stat -L -c '%t:%T' "$p") || { xenstore-write "$XENBUS_PATH/hotplug-error" "no device $p" "$XENBUS_PATH/hotplug-status" error; exit 1; }
    xenstore-write "$XENBUS_PATH/physical-device" "$mm" "$XENBUS_PATH/physical-device-path" "$p" "$XENBUS_PATH/hotplug-status" connected
    ;;
remove)
    xenstore-rm "$XENBUS_PATH/hotplug-status" 2>/dev/null
    ;;
esac
exit 0
