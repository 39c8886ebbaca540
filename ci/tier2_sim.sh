#!/usr/bin/env bash
# Tier-2-sim lane: run the airborne unit tests on an emulated aarch64 Debian 12
# root (debootstrap + qemu-user-static) with the project's own locked Python
# environment (the aarch64 wheels of third_party/python/requirements.lock, the
# pins the Jetson runs), the closest to the Jetson's userland a machine without
# one gets. Needs root, Debian's package mirror and PyPI; ~10-20x slower than
# native. Usage: sudo ci/tier2_sim.sh [ROOT_DIR]
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
root="${1:-${XDG_CACHE_HOME:-$HOME/.cache}/gps_denied_onboard/arm64-root}"
case "$root" in "" | / | /root | /home | "$HOME") echo "tier2_sim: refusing root dir '$root'" >&2; exit 2 ;; esac

export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq qemu-user-static binfmt-support debootstrap >/dev/null
mountpoint -q /proc/sys/fs/binfmt_misc || mount binfmt_misc -t binfmt_misc /proc/sys/fs/binfmt_misc
update-binfmts --enable qemu-aarch64

# A root is reused only when a bootstrap finished (the marker); a half-built one is redone.
if [[ ! -f "$root/.gdn-bootstrapped" ]]; then
  rm -rf "$root"
  debootstrap --arch=arm64 --variant=minbase --include=python3,python3-venv,ca-certificates bookworm "$root"
  touch "$root/.gdn-bootstrapped"
fi
cp /etc/resolv.conf "$root/etc/resolv.conf"  # pip inside the root reaches PyPI
# The host's trust store, so a TLS-intercepting proxy the host trusts is trusted inside too.
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
# A clean environment inside the root: the host's PIP_* / proxy-less settings do not apply there.
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/root LANG=C.UTF-8 \
  ${HTTPS_PROXY:+HTTPS_PROXY=$HTTPS_PROXY} ${https_proxy:+https_proxy=$https_proxy} /bin/sh -c "$1"; }

# /proc, and /dev with its submounts (/dev/pts: the serial-link tests open ptys).
mounted=()
cleanup() { for ((i=${#mounted[@]}-1; i>=0; i--)); do umount -R "${mounted[i]}" || true; done; }
trap cleanup EXIT
mountpoint -q "$root/proc" || { mount -t proc proc "$root/proc"; mounted+=("$root/proc"); }
mountpoint -q "$root/dev" || { mount --rbind /dev "$root/dev"; mount --make-rslave "$root/dev"; mounted+=("$root/dev"); }

# The locked environment, keyed by the lock's hash like tools/bazel's.
lock="$repo/third_party/python/requirements.lock"
venv="/opt/gdn-venv-$(sha256sum "$lock" | cut -c1-16)"
if [[ ! -x "$root$venv/bin/python" ]]; then
  cp "$lock" "$root/tmp/requirements.lock"
  in_root "python3 -m venv $venv.part && $venv.part/bin/pip install --quiet --disable-pip-version-check \
    --cert /etc/ssl/certs/ca-certificates.crt --require-hashes --no-deps --only-binary=:all: \
    -r /tmp/requirements.lock && mv $venv.part $venv" \
    || { rm -rf "$root$venv.part"; echo "tier2_sim: the locked environment did not install for aarch64" >&2; exit 1; }
fi

rm -rf "$root/gdn" && mkdir -p "$root/gdn"
cp -r "$repo/python" "$repo/tests" "$repo/pyproject.toml" "$root/gdn/"
# The airborne components' unit tests (their fixtures may build caches or flights with
# operator-side code; what the airborne binary may import is audited by
# //tests/contract:binary_contents_test, not here).
units=(core dataset fdr_client capture_store c1_camera c2_fc_link c3_vo c4_map_cache c5_state c6_place_recognition
       c7_geo_registration c8_inference c9_integrity c13_fdr)
paths=()
for u in "${units[@]}"; do [[ -d "$root/gdn/tests/unit/$u" ]] && paths+=("tests/unit/$u"); done
in_root "cd /gdn && $venv/bin/python -m pytest -q -m 'not slow' -p no:cacheprovider ${paths[*]}"
