#!/bin/busybox sh
# /init of the Linux lane's initramfs (cargo xtask linux): loads the FF-A driver, lists the
# partitions it found, loads arm_tstee, the lane's test module and /dev/ffa-call, runs the
# user-space checks (linux/user-checks.sh), then powers off. xtask
# reads the console; every line it checks starts with "lane:" or comes from the drivers.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
load() {
    if insmod "/lib/modules/$1"; then echo "lane: insmod $1: ok"; else echo "lane: insmod $1: FAILED"; fi
}
load ffa-core.ko
load ffa-module.ko
for d in /sys/bus/arm_ffa/devices/*; do
    [ -e "$d/partition_id" ] || continue
    echo "lane: partition $(basename "$d") partition_id=$(cat "$d/partition_id") uuid=$(cat "$d/uuid")"
done
load tee.ko
load arm-tstee.ko
echo "lane: tee devices: $(ls /dev/tee* /dev/teepriv* 2>/dev/null | tr '\n' ' ')"
if [ -f /lane-run.sh ]; then
    # cargo xtask linux --run CMD: the integrator's commands instead of the lane's checks.
    load ffa-call.ko
    . /lane-run.sh
else
    load ffa-test.ko
    load ffa-call.ko
    . /user-checks.sh
fi
echo "lane: online cpus $(cat /sys/devices/system/cpu/online)"
echo "lane: end"
poweroff -f
