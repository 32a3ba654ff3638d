#!/bin/sh
# Watches dockerd for a test (or a benchmark): runs the daemon (the arguments after the dir), and
# when its stdin closes (the test stops it, or the test process dies in any way) stops it, kills
# what it left, unmounts what it left mounted and removes the dir. Usage: sh dockerd-watchdog.sh DIR dockerd ARGS...

dir=$1; shift
"$@" &
daemon=$!
# Ignored only now: what dockerd starts (containers too) keeps the default dispositions.
trap '' INT TERM HUP
read _ || true
kill -TERM $daemon 2>/dev/null
i=0
while kill -0 $daemon 2>/dev/null && [ $i -lt 200 ]; do sleep 0.1; i=$((i+1)); done
kill -KILL $daemon 2>/dev/null
wait $daemon 2>/dev/null
# What outlived it, by pid: containerd and its shims (they name its exec root), and the processes
# of its containers (in the cgroups named after them), whose empty cgroups go too.
for f in $(grep -lsF "$dir/exec/containerd" /proc/[0-9]*/cmdline); do pid=${f#/proc/}; kill -KILL ${pid%/cmdline} 2>/dev/null; done
ids=$(ls "$dir/data/containers" 2>/dev/null)
for id in $ids; do
  for f in $(grep -lsF "/docker/$id" /proc/[0-9]*/cgroup); do pid=${f#/proc/}; kill -KILL ${pid%/cgroup} 2>/dev/null; done
done
sleep 0.2
for id in $ids; do rmdir /sys/fs/cgroup/*/docker/$id /sys/fs/cgroup/docker/$id 2>/dev/null; done
awk -v d="$dir" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m"; done
rm -rf "$dir"
