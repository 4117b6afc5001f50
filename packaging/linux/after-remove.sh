#!/bin/sh
# Vigil deb after-remove (electron-builder deb.afterRemove): drop the autostart entry.
# /etc/vigil (policy, settings) and /var/lib/vigil (device identity) stay unless purged.
set -e
rm -f /etc/xdg/autostart/vigil.desktop
# The machine agent goes with the package (an upgrade's after-install starts the new one).
if [ "${1:-}" = "remove" ] || [ "${1:-}" = "purge" ]; then
  if [ -d /run/systemd/system ]; then
    systemctl disable --now vigil.service >/dev/null 2>&1 || true
  fi
  rm -f /lib/systemd/system/vigil.service
  if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
fi
if [ "${1:-}" = "purge" ]; then
  rm -rf /etc/vigil /var/lib/vigil
fi
exit 0
