#!/usr/bin/env bash
# Installs the real tools the mover images' tests run against (Debian/Ubuntu, as root).
# Idempotent: does nothing when every package is already installed.
set -euo pipefail

# rsync-tls: rsync stunnel4. rsync (ssh): rsync, sshd and ssh, and nss_wrapper, which gives the
# movers' uids a login (the tests run sshd as non-root uids without a passwd entry). The tests
# start their own sshd; on a host with an init system the package also starts the system's.
PACKAGES=(rsync stunnel4 openssh-server openssh-client libnss-wrapper)

missing=()
for p in "${PACKAGES[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done

if [ "${#missing[@]}" -eq 0 ]; then
	echo "install-deps: already installed: ${PACKAGES[*]}"
	exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	SUDO="sudo"
fi

echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
