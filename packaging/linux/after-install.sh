#!/bin/sh
# Vigil deb after-install (electron-builder deb.afterInstall): start the tray app for every
# user at login (XDG autostart), and create the machine settings folder.
set -e
mkdir -p /etc/xdg/autostart /etc/vigil
cat > /etc/xdg/autostart/vigil.desktop <<'DESKTOP'
[Desktop Entry]
Type=Application
Name=Vigil
Comment=Is this PC affected by a known software supply-chain incident?
Exec=/opt/Vigil/vigil --autostart
Icon=vigil
Terminal=false
X-GNOME-Autostart-enabled=true
DESKTOP
chmod 644 /etc/xdg/autostart/vigil.desktop

# A per-machine install: the tray is a client of the machine agent (src/main/agent-binding.ts
# trayAgentMode). An administrator's own settings file is left alone (it must say the same).
if [ ! -e /etc/vigil/config.json ]; then
  printf '{\n  "autostart": "machine"\n}\n' > /etc/vigil/config.json
  chmod 644 /etc/vigil/config.json
fi

# The machine agent (packaging/linux/vigil.service), started now and at every boot.
install -m 644 /opt/Vigil/resources/vigil.service /lib/systemd/system/vigil.service
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl enable vigil.service
  # An upgrade restarts it on the new version.
  systemctl restart vigil.service
fi
exit 0
