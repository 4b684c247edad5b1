#!/bin/sh
# Builds a minimal root filesystem for container tests from Debian's busybox-static,
# without the internet: one static binary plus a symlink per applet.
#
#   make-busybox-rootfs.sh DIR [BUSYBOX]
#
# BUSYBOX defaults to /bin/busybox (package busybox-static; `apt-get install busybox-static`).
# DIR must not exist or be empty. Exits non-zero with one line on stderr on failure.
set -eu

dir=${1:?usage: make-busybox-rootfs.sh DIR [BUSYBOX]}
busybox=${2:-/bin/busybox}

if [ ! -x "$busybox" ]; then
    echo "make-busybox-rootfs: $busybox not found (install busybox-static)" >&2
    exit 1
fi
# A dynamically linked busybox would need the host's libraries inside the rootfs.
if command -v file >/dev/null 2>&1 && ! file -L "$busybox" | grep -q "statically linked"; then
    echo "make-busybox-rootfs: $busybox is not statically linked (install busybox-static)" >&2
    exit 1
fi
if [ -e "$dir" ] && [ -n "$(ls -A "$dir" 2>/dev/null)" ]; then
    echo "make-busybox-rootfs: $dir exists and is not empty" >&2
    exit 1
fi

mkdir -p "$dir"
cd "$dir"
mkdir -p bin sbin usr/bin usr/sbin etc root tmp proc sys dev var/tmp home
chmod 1777 tmp var/tmp
chmod 700 root
cp "$busybox" bin/busybox
chmod 755 bin/busybox
for applet in $(bin/busybox --list-full); do
    case "$applet" in
        bin/busybox) continue ;;
    esac
    [ -e "$applet" ] || ln -s /bin/busybox "$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > etc/passwd
printf 'root:x:0:\nnogroup:x:65534:\n' > etc/group
printf 'vlab-test\n' > etc/hostname
