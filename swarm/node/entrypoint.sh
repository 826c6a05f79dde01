#!/bin/sh
# Start a Docker engine inside this container (a Swarm node on one machine).
#
# The node runs with every capability but CAP_SYS_RESOURCE, no seccomp or AppArmor
# profile, and its own cgroup namespace: what `--privileged` would give, without it
# (some kernels refuse `--privileged`). Docker still mounts /sys and the cgroup
# hierarchies read-only in such a container; dockerd must write to both, so remount them.
set -eu

# (`remount,bind`: change only this mount's flags; a plain remount of a cgroup hierarchy is
# refused as "busy".)
writable() { mount -o remount,bind,rw "$1" || echo "twinshop-node: cannot make $1 writable" >&2; }
writable /sys
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
    writable /sys/fs/cgroup                 # cgroup v2: one hierarchy
    # cgroup v2 lets a group with processes hand no controller to its children: move this
    # container's processes into a child group first, then give the children every controller
    # (as the official docker:dind image does), so the engine can make its containers' groups.
    mkdir -p /sys/fs/cgroup/init
    xargs -rn1 </sys/fs/cgroup/cgroup.procs >/sys/fs/cgroup/init/cgroup.procs 2>/dev/null || :
    sed -e 's/ / +/g' -e 's/^/+/' </sys/fs/cgroup/cgroup.controllers >/sys/fs/cgroup/cgroup.subtree_control || :
else
    for hierarchy in /sys/fs/cgroup/*; do   # cgroup v1: one hierarchy per controller
        [ -L "$hierarchy" ] || writable "$hierarchy"
    done
fi

# dockerd sets kernel settings (IPv6, forwarding) in the network namespaces it makes.
writable /proc/sys

# After `docker kill` (a power cut: the `kill-node:` drill) the engine left its pid files in the
# container's own filesystem; the engine starting again would take them for a running one.
rm -f /var/run/docker.pid /var/run/docker/containerd/containerd.pid

# Addresses of the node's own networks (its bridge, Swarm's docker_gwbridge) from a range
# that no twinshop network on the host uses, so no route inside the node is ambiguous.
# dockerd as PID 1: `docker kill` of the node is the engine dying, as in a power cut.
exec dockerd \
    --host unix:///var/run/docker.sock \
    --storage-driver overlay2 \
    --bip 10.231.0.1/24 \
    --default-address-pool base=10.232.0.0/16,size=24 \
    "$@"
