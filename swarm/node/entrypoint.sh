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
else
    for hierarchy in /sys/fs/cgroup/*; do   # cgroup v1: one hierarchy per controller
        [ -L "$hierarchy" ] || writable "$hierarchy"
    done
fi

# Addresses of the node's own networks (its bridge, Swarm's docker_gwbridge) from a range
# that no twinshop network on the host uses, so no route inside the node is ambiguous.
# dockerd as PID 1: `docker kill` of the node is the engine dying, as in a power cut.
exec dockerd \
    --host unix:///var/run/docker.sock \
    --storage-driver overlay2 \
    --bip 10.231.0.1/24 \
    --default-address-pool base=10.232.0.0/16,size=24 \
    "$@"
