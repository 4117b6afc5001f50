#!/bin/sh
# Vigil deb after-remove (electron-builder deb.afterRemove): drop the autostart entry.
# /etc/vigil (policy, settings) and /var/lib/vigil (device identity) stay unless purged.
set -e
rm -f /etc/xdg/autostart/vigil.desktop
if [ "${1:-}" = "purge" ]; then
  rm -rf /etc/vigil /var/lib/vigil
fi
exit 0
