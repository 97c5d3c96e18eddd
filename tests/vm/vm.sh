#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/vm/vm.sh: a throw-away Debian 12 guest with systemd as PID 1 and pure cgroup v2, booted
# under QEMU with software emulation (no KVM needed), for the parts of sandboxd this host cannot
# exercise (sd-bus StartTransientUnit, scopes, cgroup v2 limits, socket activation).
#
#   vm.sh build               make (or reuse) the kernel, initrd and root image in $SANDBOX_VM_DIR
#   vm.sh run [-s DIR]... CMD boot, run CMD (sh -c) as root in the project directory, which is
#                             shared read-write at the same path (so is each DIR), print its
#                             output, exit with its status (125: the guest died or timed out;
#                             the tail of the serial console is printed)
#
# Everything comes from Debian's packages: qemu-system-x86, debootstrap, e2fsprogs, cpio, kmod
# and xz-utils on the host (installed if missing); the guest kernel and busybox-static are only
# downloaded and unpacked. The debootstrap output is cached as a tarball next to the image, so
# the image can be rebuilt in seconds when this script changes what goes into it.
#
# Knobs: SANDBOX_VM_DIR (default /var/tmp/sandbox-vm), SANDBOX_VM_MIRROR (default: the first
# non-security URI in /etc/apt/sources*), SANDBOX_VM_TIMEOUT (seconds, default 900),
# SANDBOX_VM_MEM (default 2G), SANDBOX_VM_SMP (default 2), SANDBOX_VM_APPEND (extra kernel
# arguments, e.g. systemd.log_level=debug), SANDBOX_VM_CONSOLE=1 (stream the serial console),
# SANDBOX_VM_ACCEL=tcg (no KVM even if /dev/kvm is usable).
set -euo pipefail

VMDIR=${SANDBOX_VM_DIR:-/var/tmp/sandbox-vm}
TIMEOUT=${SANDBOX_VM_TIMEOUT:-900}
MEM=${SANDBOX_VM_MEM:-2G}
SMP=${SANDBOX_VM_SMP:-2}
PROJECT=$(cd "$(dirname "$0")/../.." && pwd)

# The guest: systemd and D-Bus, the runtime libraries of sandboxd and sandboxctl, and what the
# guest test uses. Changing this list (or IMAGE_VERSION) rebuilds the image.
GUEST_PKGS=systemd,systemd-sysv,dbus,libsystemd0,libseccomp2,libjson-c5,libprotobuf-c1,libgrpc29,procps,util-linux,python3,iproute2
IMAGE_VERSION=5
# Modules the initrd loads to find the root disk and the 9p shares (dependency order resolved
# with modprobe --show-depends against the guest kernel's own tree).
INITRD_MODULES="virtio_pci virtio_blk virtio-rng ext4 9p 9pnet_virtio"

say() { printf 'vm.sh: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }
# step MESSAGE: progress of the image build, with the seconds since it began.
step() { printf 'vm.sh: [%3d s] %s\n' "$((SECONDS - build_t0))" "$*" >&2; }
build_t0=$SECONDS

# debootstrap's "I: <Phase> <package>" lines, condensed: a line when a phase starts and every
# 10 s, with the count so far (the whole output goes to debootstrap.log). Retrieving and
# Validating alternate per package: they count as one phase. A shell loop, not awk: mawk reads
# a pipe in blocks and would print nothing until kilobytes have arrived.
debootstrap_progress() {
        local line phase shown=$SECONDS
        local -A count
        while IFS= read -r line; do
                if [[ $line =~ ^I:\ (Retrieving|Validating|Extracting|Unpacking|Configuring)\  ]]; then
                        phase=${BASH_REMATCH[1]}
                        [ "$phase" = Validating ] && continue
                        [ "$phase" = Retrieving ] && phase=Downloading
                        count[$phase]=$((${count[$phase]:-0} + 1))
                        if [ "${count[$phase]}" = 1 ] || [ $((SECONDS - shown)) -ge 10 ]; then
                                step "debootstrap: ${phase,,} packages (${count[$phase]})"
                                shown=$SECONDS
                        fi
                elif [[ $line == "I: Base system installed"* ]]; then
                        step "debootstrap: ${line#I: }"
                fi
        done
}

host_packages() {
        local need=()
        command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
        command -v debootstrap >/dev/null || need+=(debootstrap)
        command -v mkfs.ext4 >/dev/null || need+=(e2fsprogs)
        command -v cpio >/dev/null || need+=(cpio)
        command -v modprobe >/dev/null || need+=(kmod)
        command -v xz >/dev/null || need+=(xz-utils)
        [ ${#need[@]} -eq 0 ] && return 0
        # installed by scripts/install-deps.sh; the suite installs nothing on the host
        echo "vm.sh: missing on the host: ${need[*]} (run scripts/install-deps.sh)" >&2
        return 1
}

mirror() {
        if [ -n "${SANDBOX_VM_MIRROR:-}" ]; then
                echo "$SANDBOX_VM_MIRROR"
                return
        fi
        { grep -hoE '^(URIs:|deb) +https?://[^ ]+' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null ||
                true; } | grep -v security | awk 'NR==1 {print $2}'
}

# Downloads a package's .deb into $VMDIR/debs (once) and prints its path.
fetch_deb() {
        local pkg=$1 f
        mkdir -p "$VMDIR/debs"
        f=$(ls "$VMDIR/debs/${pkg}"_*.deb 2>/dev/null | head -1 || true)
        if [ -z "$f" ]; then
                (cd "$VMDIR/debs" && apt-get download -qq "$pkg" >/dev/null 2>&1) ||
                        { apt-get update -qq >/dev/null; (cd "$VMDIR/debs" && apt-get download -qq "$pkg" >/dev/null); }
                f=$(ls "$VMDIR/debs/${pkg}"_*.deb | head -1)
        fi
        echo "$f"
}

kernel() {
        local pkg kver
        pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
        [ -n "$pkg" ] || { apt-get update -qq >/dev/null;
                pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}'); }
        kver=${pkg#linux-image-}
        step "kernel: $pkg (apt-get download, unpack)"
        rm -rf "$VMDIR/kernel"
        mkdir -p "$VMDIR/kernel"
        dpkg-deb -x "$(fetch_deb "$pkg")" "$VMDIR/kernel"
        depmod -b "$VMDIR/kernel" "$kver"
        echo "$kver" >"$VMDIR/kver"
        # Debian's kernel can boot through PVH: an uncompressed vmlinux saves the seconds of
        # xz decompression that a bzImage costs under emulation.
        local bz=$VMDIR/kernel/boot/vmlinuz-$kver off
        off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$bz" | head -1 | cut -d: -f1)
        # (xz complains about the bytes after the compressed kernel: its status does not count.)
        [ -n "$off" ] && { tail -c +$((off + 1)) "$bz" | xz -dcq >"$VMDIR/vmlinux" 2>/dev/null || true; }
        if [ ! -s "$VMDIR/vmlinux" ] || [ "$(head -c 4 "$VMDIR/vmlinux" | od -An -tx1 | tr -d ' ')" != 7f454c46 ]; then
                rm -f "$VMDIR/vmlinux"
                cp "$bz" "$VMDIR/vmlinuz"
        fi
}

module_files() { # module names -> .ko files, dependencies first
        local kver m
        kver=$(cat "$VMDIR/kver")
        for m in "$@"; do
                modprobe -d "$VMDIR/kernel" -S "$kver" --show-depends "$m" | awk '$1 == "insmod" {print $2}'
        done | awk '!seen[$0]++'
}

initrd() {
        local d=$VMDIR/initrd
        step "initrd: busybox and the modules for the root disk and 9p"
        rm -rf "$d"
        mkdir -p "$d/bin" "$d/ko"
        dpkg-deb --fsys-tarfile "$(fetch_deb busybox-static)" | tar -xO ./bin/busybox >"$d/bin/busybox"
        chmod 755 "$d/bin/busybox"
        module_files $INITRD_MODULES | while read -r ko; do
                cp "$ko" "$d/ko/"
                basename "$ko" >>"$d/ko/order"
        done
        cat >"$d/init" <<'EOF'
#!/bin/busybox sh
b=/bin/busybox
$b mkdir -p /proc /sys /dev /root
$b mount -t proc proc /proc
$b mount -t devtmpfs dev /dev
for m in $($b cat /ko/order); do $b insmod "/ko/$m" 2>/dev/null; done
n=0
while [ ! -b /dev/vda ] && [ $n -lt 300 ]; do $b usleep 10000; n=$((n + 1)); done
$b mount -t ext4 -o rw /dev/vda /root || { echo "initrd: no root disk"; $b poweroff -f; }
$b umount /proc
$b mount --move /dev /root/dev
exec $b switch_root /root /sbin/init
EOF
        chmod 755 "$d/init"
        (cd "$d" && find . | cpio -o -H newc --quiet) >"$VMDIR/initrd.img"
        rm -rf "$d"
}

rootfs() {
        local r=$VMDIR/rootfs kver
        kver=$(cat "$VMDIR/kver")
        rm -rf "$r"
        mkdir -p "$r"
        if [ -f "$VMDIR/base.tar" ] && [ "$(cat "$VMDIR/base.pkgs" 2>/dev/null)" = "$GUEST_PKGS" ]; then
                step "rootfs: from the cached debootstrap tarball"
                tar -C "$r" -xf "$VMDIR/base.tar"
        else
                local m t0=$SECONDS
                m=$(mirror)
                [ -n "$m" ] || die "no Debian mirror in /etc/apt/sources*; set SANDBOX_VM_MIRROR"
                step "rootfs: debootstrap bookworm (minbase + $GUEST_PKGS) from $m (about 2.5 minutes)"
                debootstrap --variant=minbase --cache-dir="$VMDIR/debs" --include="$GUEST_PKGS" bookworm "$r" "$m" 2>&1 |
                        tee "$VMDIR/debootstrap.log" | debootstrap_progress >&2 ||
                        { tail -20 "$VMDIR/debootstrap.log" >&2; die "debootstrap failed"; }
                step "rootfs: debootstrap took $((SECONDS - t0)) s"
                rm -rf "$r"/var/cache/apt/archives/*.deb "$r"/var/lib/apt/lists/*
                tar -C "$r" -cf "$VMDIR/base.tar" .
                echo "$GUEST_PKGS" >"$VMDIR/base.pkgs"
        fi

        echo sandbox-vm >"$r/etc/hostname"
        printf '127.0.0.1 localhost sandbox-vm\n' >"$r/etc/hosts"
        : >"$r/etc/fstab"
        chroot "$r" passwd -d root >/dev/null
        # Guest kernel modules (9p, ext4, ... and veth/bridge for network tests).
        mkdir -p "$r/lib/modules/$kver"
        cp "$VMDIR/kernel/lib/modules/$kver"/modules.{order,builtin,builtin.modinfo} "$r/lib/modules/$kver/"
        module_files $INITRD_MODULES veth bridge overlay | while read -r ko; do
                local rel=${ko#"$VMDIR/kernel/lib/modules/$kver/"}
                mkdir -p "$r/lib/modules/$kver/$(dirname "$rel")"
                cp "$ko" "$r/lib/modules/$kver/$rel"
        done
        depmod -b "$r" "$kver"

        # The job: mount the control share and the project, run the command, power off.
        cat >"$r/usr/local/sbin/sandbox-vm-job" <<'EOF'
#!/bin/sh
o=trans=virtio,version=9p2000.L,msize=262144,cache=none
mkdir -p /run/vmctl && mount -t 9p -o $o ctl /run/vmctl || exit 1
# /run/vmctl/shares: "TAG PATH" lines, the project first (it is also the working directory).
while read -r tag path; do
        mkdir -p "$path" && mount -t 9p -o $o "$tag" "$path" || { echo "cannot mount $tag on $path" >/run/vmctl/out; exit 1; }
done </run/vmctl/shares
p=$(cat /run/vmctl/project)
# This unit is Type=exec, so the boot finishes while it runs: the command sees a running system.
timeout 60 systemctl is-system-running --wait >/dev/null 2>&1
echo "boot $(cut -d' ' -f1 /proc/uptime)" >/run/vmctl/timing
cd "$p"
export HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
if [ -f /run/vmctl/console ]; then
        { sh /run/vmctl/cmd </dev/null 2>&1; echo $? >/run/vmctl/rc; } | tee /run/vmctl/out >/dev/console
else
        sh /run/vmctl/cmd </dev/null >/run/vmctl/out 2>&1
        echo $? >/run/vmctl/rc
fi
echo "done $(cut -d' ' -f1 /proc/uptime)" >>/run/vmctl/timing
sync
EOF
        chmod 755 "$r/usr/local/sbin/sandbox-vm-job"
        cat >"$r/etc/systemd/system/sandbox-vm-job.service" <<'EOF'
[Unit]
Description=sandbox VM test job
Requires=dbus.socket
After=basic.target dbus.socket
SuccessAction=poweroff-immediate
FailureAction=poweroff-immediate
[Service]
Type=exec
ExecStart=/usr/local/sbin/sandbox-vm-job
EOF
        cat >"$r/etc/systemd/system/sandbox-vm.target" <<'EOF'
[Unit]
Description=sandbox VM test
Requires=basic.target dbus.socket sandbox-vm-job.service
After=basic.target
AllowIsolate=yes
EOF
        ln -sf sandbox-vm.target "$r/etc/systemd/system/default.target"
        # Nothing the test does not need: no gettys, timers, generators or udev-dependent units.
        rm -f "$r"/etc/systemd/system/timers.target.wants/* "$r"/etc/systemd/system/getty.target.wants/*
        local u g
        for u in getty.target serial-getty@.service getty@.service systemd-pstore.service systemd-random-seed.service \
                systemd-update-utmp.service systemd-journal-flush.service systemd-firstboot.service \
                systemd-machine-id-commit.service systemd-remount-fs.service systemd-hwdb-update.service \
                ldconfig.service systemd-binfmt.service proc-sys-fs-binfmt_misc.automount sys-kernel-debug.mount \
                sys-kernel-tracing.mount sys-kernel-config.mount systemd-ask-password-console.path \
                systemd-ask-password-wall.path kmod-static-nodes.service systemd-tmpfiles-setup-dev.service \
                sys-fs-fuse-connections.mount systemd-modules-load.service systemd-sysusers.service dev-hugepages.mount \
                e2scrub_reap.service apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer fstrim.timer; do
                ln -sf /dev/null "$r/etc/systemd/system/$u"
        done
        mkdir -p "$r/etc/systemd/system-generators" "$r/etc/systemd/journald.conf.d"
        for g in "$r"/usr/lib/systemd/system-generators/*; do
                ln -sf /dev/null "$r/etc/systemd/system-generators/${g##*/}"
        done
        printf '[Journal]\nStorage=volatile\n' >"$r/etc/systemd/journald.conf.d/vm.conf"
        rm -rf "$r"/usr/share/doc/* "$r"/usr/share/man/* "$r"/usr/share/locale/*

        local size
        size=$(($(du -sm "$r" | cut -f1) * 13 / 10 + 384))
        rm -f "$VMDIR/rootfs.img"
        step "image: mkfs.ext4 ($size MiB)"
        mkfs.ext4 -q -F -E root_owner=0:0 -O ^metadata_csum,^orphan_file -d "$r" "$VMDIR/rootfs.img" "${size}M" >&2
        rm -rf "$r"
}

# What the image is made of: the lists above and the code that makes it (not the rest of this
# script, so that a change to how the VM runs or reports does not rebuild the image).
stamp() {
        echo "$IMAGE_VERSION $GUEST_PKGS $INITRD_MODULES $(declare -f kernel fetch_deb module_files initrd rootfs |
                sha256sum | cut -c1-16)"
}

# The image is shared by concurrent runs: a run holds a shared lock on $VMDIR/lock from its check
# of the stamp until qemu exits; a build takes it exclusively.
image_ok() {
        [ -f "$VMDIR/rootfs.img" ] && [ -f "$VMDIR/initrd.img" ] && [ "$(cat "$VMDIR/stamp" 2>/dev/null)" = "$(stamp)" ]
}

cmd_build() { # leaves fd 9 holding a shared lock
        mkdir -p "$VMDIR"
        exec 9>>"$VMDIR/lock"
        flock -s 9
        image_ok && return 0
        [ "$(id -u)" -eq 0 ] || die "build: must run as root"
        if ! flock -x -n 9; then
                say "the image needs a rebuild: waiting for other runs of the old one to finish"
                flock -x 9
        fi
        image_ok && { flock -s 9; return 0; }
        local t0=$SECONDS
        build_t0=$SECONDS
        say "building the image in $VMDIR (about 3 minutes from nothing, 15-20 s from the cached debootstrap tarball)"
        host_packages
        rm -f "$VMDIR/rootfs.img" "$VMDIR/initrd.img" "$VMDIR/vmlinux" "$VMDIR/vmlinuz" "$VMDIR/stamp"
        kernel
        initrd
        rootfs
        rm -rf "$VMDIR/kernel"
        stamp >"$VMDIR/stamp"
        say "image built in $((SECONDS - t0)) s"
        flock -s 9
}

share_ok() {
        case "$1" in
        / | /bin | /boot | /dev | /etc | /lib | /lib64 | /proc | /run | /run/* | /sbin | /sys | /sys/* | /usr | /usr/* | \
                /var | /var/lib | /var/lib/* | /root | /tmp)
                die "run: will not mount $1 over the guest's own $1" ;;
        esac
}

cmd_run() {
        local shares=("$PROJECT") d
        while [ $# -gt 0 ]; do
                case "$1" in
                -s) [ $# -ge 2 ] || die "run: -s needs a directory"
                        d=$(cd "$2" 2>/dev/null && pwd) || die "run: -s $2: no such directory"
                        shares+=("$d")
                        shift 2 ;;
                --) shift; break ;;
                *) break ;;
                esac
        done
        [ $# -gt 0 ] || die "usage: vm.sh run [-s DIR]... CMD..."
        cmd_build
        local ctl rc qrc t0 kernel i virtfs=()
        ctl=$(mktemp -d /tmp/sandbox-vm.XXXXXX)
        printf '%s\n' "$*" >"$ctl/cmd"
        echo "$PROJECT" >"$ctl/project"
        : >"$ctl/shares"
        for i in "${!shares[@]}"; do
                share_ok "${shares[$i]}"
                echo "share$i ${shares[$i]}" >>"$ctl/shares"
                virtfs+=(-virtfs "local,path=${shares[$i]},mount_tag=share$i,security_model=none,id=share$i")
        done
        local serial="file:$ctl/console"
        if [ "${SANDBOX_VM_CONSOLE:-0}" = 1 ]; then
                serial=stdio
                : >"$ctl/console"
        fi
        # KVM when the host has it (much faster); else software emulation. SANDBOX_VM_ACCEL=tcg forces it.
        local accel=(-accel tcg,thread=multi)
        if [ "${SANDBOX_VM_ACCEL:-auto}" != tcg ] && [ -w /dev/kvm ]; then
                # Some hosts expose /dev/kvm but QEMU cannot use it (nested KVM refusing an MSR:
                # QEMU aborts at vCPU reset). A paused 1 s probe tells; it is killed by timeout
                # (status 124) when KVM works.
                if timeout 1 qemu-system-x86_64 -nodefaults -no-user-config -nographic -machine q35 \
                        -accel kvm -cpu max -m 64 -S -serial none -monitor none </dev/null >/dev/null 2>&1
                        [ $? -eq 124 ]; then
                        accel=(-accel kvm -accel tcg,thread=multi)
                else
                        say "/dev/kvm is present but QEMU cannot use it here; software emulation (TCG)"
                fi
        fi
        kernel=$VMDIR/vmlinux
        [ -f "$kernel" ] || kernel=$VMDIR/vmlinuz
        t0=$(date +%s.%N)
        set +e
        timeout -k 5 "$TIMEOUT" qemu-system-x86_64 -nodefaults -no-user-config -nographic -no-reboot \
                -machine q35 "${accel[@]}" -cpu max -smp "$SMP" -m "$MEM" \
                -kernel "$kernel" -initrd "$VMDIR/initrd.img" \
                -append "console=ttyS0 root=/dev/vda rw quiet loglevel=3 panic=-1 systemd.unified_cgroup_hierarchy=1 systemd.show_status=0 mitigations=off tsc=reliable no_timer_check random.trust_cpu=on ${SANDBOX_VM_APPEND:-}" \
                -drive "file=$VMDIR/rootfs.img,format=raw,if=virtio,snapshot=on,cache=unsafe" \
                -virtfs "local,path=$ctl,mount_tag=ctl,security_model=none,id=ctl" "${virtfs[@]}" \
                -device virtio-rng-pci -serial "$serial" -monitor none </dev/null >&2
        qrc=$?
        set -e
        [ -f "$ctl/out" ] && cat "$ctl/out"
        rc=$(cat "$ctl/rc" 2>/dev/null || echo 125)
        say "qemu exit $qrc$([ "$qrc" = 124 ] && echo " (timed out after $TIMEOUT s)"), command exit $rc," \
                "$(awk "BEGIN {printf \"%.1f\", $(date +%s.%N) - $t0}") s wall ($(tr '\n' ' ' 2>/dev/null <"$ctl/timing")guest uptime)"
        if [ ! -f "$ctl/rc" ]; then
                say "the guest did not finish the command; console tail:"
                tail -40 "$ctl/console" 2>/dev/null | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g' >&2
        fi
        rm -rf "$ctl"
        return "$rc"
}

case "${1:-}" in
build) shift; cmd_build ;;
run) shift; cmd_run "$@" ;;
*) sed -n '3,22p' "$0" >&2; exit 2 ;;
esac
