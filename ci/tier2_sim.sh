#!/usr/bin/env bash
# Tier-2-sim lane: run the airborne unit tests on an emulated aarch64 Debian 12
# root (debootstrap + qemu-user-static), the closest to the Jetson's userland a
# machine without one gets. Needs root and Debian's package mirror; ~10-20x slower
# than native. Usage: sudo ci/tier2_sim.sh [ROOT_DIR]
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
root="${1:-${XDG_CACHE_HOME:-$HOME/.cache}/gps_denied_onboard/arm64-root}"

export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq qemu-user-static binfmt-support debootstrap >/dev/null
mountpoint -q /proc/sys/fs/binfmt_misc || mount binfmt_misc -t binfmt_misc /proc/sys/fs/binfmt_misc
update-binfmts --enable qemu-aarch64

if [[ ! -x "$root/usr/bin/python3" ]]; then
  debootstrap --arch=arm64 --variant=minbase \
    --include=python3,python3-venv,python3-pip,python3-numpy,python3-yaml,python3-opencv,python3-cryptography,python3-filelock,python3-pytest,python3-hypothesis \
    bookworm "$root"
fi

rm -rf "$root/gdn" && mkdir -p "$root/gdn"
cp -r "$repo/python" "$repo/tests" "$root/gdn/"
# Airborne components only: the operator-only ones are not on the Jetson.
rm -rf "$root/gdn/python/gps_denied_onboard/components/"{c10_provisioning,c11_tile_manager,c12_sim}
units=(core c1_camera c3_vo c5_state c7_geo_registration c9_integrity c13_fdr fdr_client)
paths=()
for u in "${units[@]}"; do [[ -d "$root/gdn/tests/unit/$u" ]] && paths+=("tests/unit/$u"); done
chroot "$root" /bin/sh -c "cd /gdn && PYTHONPATH=python python3 -m pytest -q -p no:cacheprovider -m 'not slow' ${paths[*]}"
