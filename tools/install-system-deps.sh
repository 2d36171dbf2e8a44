#!/usr/bin/env bash
# Installs the Debian/Ubuntu system libraries that PyQt6 needs to run offscreen and on a
# desktop, when any of them is missing. Uses sudo when not root; when neither works it prints
# the exact command for the user to run and fails. On other systems it does nothing.
set -euo pipefail

packages=(libgl1 libegl1 libxkbcommon0 libfontconfig1 libdbus-1-3 libglib2.0-0
          libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1
          libxcb-render-util0 libxcb-shape0)
# Debian's own python3 cannot create a virtual environment without python3-venv.
if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    packages+=(python3-venv)
fi
packages+=("$@")

if [ ! -f /etc/debian_version ] || ! command -v dpkg-query >/dev/null 2>&1; then
    echo "install-system-deps: not a Debian/Ubuntu system; make sure Qt 6's runtime libraries (OpenGL, EGL, xkbcommon, fontconfig, D-Bus, GLib, xcb-cursor) are installed." >&2
    exit 0
fi

missing=()
for package in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
    if [ "$status" != "install ok installed" ]; then
        missing+=("$package")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

command_line="apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
echo "install-system-deps: installing ${missing[*]}" >&2
if [ "$(id -u)" -eq 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q && apt-get install -y -q --no-install-recommends "${missing[@]}"
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo DEBIAN_FRONTEND=noninteractive apt-get update -q
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
elif command -v sudo >/dev/null 2>&1 && [ -t 0 ]; then
    sudo sh -c "$command_line"
else
    echo "install-system-deps: cannot install system packages (not root, no sudo)." >&2
    echo "Run this as root, then try again:" >&2
    echo "    $command_line" >&2
    exit 1
fi
