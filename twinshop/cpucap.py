"""CPU caps for the local engine, with Linux cgroups (v2, or v1's cpu controller).

A variant started with ``--cpus N`` runs its supervisord - and so every process of the
variant - inside one cgroup limited to N CPUs, like ``docker run --cpus N`` or compose's
``deploy.resources.limits.cpus``. ``--node-cpus M`` adds a cap per service beneath it, to
emulate small nodes. Where cgroups cannot be written (not root, no cpu controller), the
engine says so and runs uncapped; reports state which it was.

Used as a wrapper: ``python -m twinshop.cpucap --cgroup twinshop/x/api-1 --cpus 0.5 -- CMD...``
joins (creating if needed) the cgroup, then execs CMD, so CMD's children inherit the cap.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
PERIOD_US = 100_000


@dataclass(frozen=True)
class CgroupFS:
    """Where and how to write CPU limits on this machine."""

    version: int  # 1 or 2
    base: Path  # the hierarchy holding the cpu controller

    def path(self, relative: str) -> Path:
        return self.base / relative

    def create(self, relative: str, cpus: float | None) -> Path:
        """Create the cgroup (and its parents) and set its CPU limit (None: unlimited)."""
        parts = Path(relative).parts
        current = self.base
        for index, part in enumerate(parts):
            current = current / part
            current.mkdir(exist_ok=True)
            if self.version == 2 and index < len(parts) - 1:
                # v2 only lets a group's children be limited once the controller is delegated.
                control = current / "cgroup.subtree_control"
                if "cpu" not in control.read_text().split():
                    control.write_text("+cpu")
        quota = -1 if cpus is None else max(1000, int(cpus * PERIOD_US))
        if self.version == 2:
            (current / "cpu.max").write_text("max" if cpus is None else f"{quota} {PERIOD_US}")
        else:
            (current / "cpu.cfs_period_us").write_text(str(PERIOD_US))
            (current / "cpu.cfs_quota_us").write_text(str(quota))
        return current

    def join(self, relative: str) -> None:
        (self.base / relative / "cgroup.procs").write_text(str(os.getpid()))

    def usage_seconds(self, relative: str) -> float | None:
        """CPU time used by everything in the cgroup so far (None if unknown)."""
        group = self.base / relative
        try:
            if self.version == 2:
                for line in (group / "cpu.stat").read_text().splitlines():
                    key, _, value = line.partition(" ")
                    if key == "usage_usec":
                        return int(value) / 1e6
                return None
            usage = self.base.parent / "cpuacct" / relative / "cpuacct.usage"
            return int(usage.read_text()) / 1e9 if usage.exists() else None
        except (OSError, ValueError):
            return None

    def remove(self, relative: str) -> None:
        """Remove a cgroup tree once its processes have gone (children first)."""
        root = self.base / relative
        if not root.is_dir():
            return
        for directory in sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
            try:
                directory.rmdir()
            except OSError:
                pass
        try:
            root.rmdir()
        except OSError:
            pass


def remove_from_every_hierarchy(relative: str) -> None:
    """Remove a cgroup tree (once empty) from every mounted hierarchy, not only the cpu one.

    Docker's cgroupfs driver creates a container's parent group in each hierarchy (memory,
    pids, ... on cgroup v1), so a parent the compose engine named must go from all of them.
    """
    if (CGROUP_ROOT / "cgroup.controllers").exists():
        CgroupFS(2, CGROUP_ROOT).remove(relative)
        return
    for hierarchy in CGROUP_ROOT.iterdir() if CGROUP_ROOT.is_dir() else ():
        if hierarchy.is_dir() and not hierarchy.is_symlink() and (hierarchy / relative).is_dir():
            CgroupFS(1, hierarchy).remove(relative)


def detect() -> tuple[CgroupFS | None, str]:
    """The writable cgroup hierarchy with a cpu controller, or None and the reason why not."""
    unified = CGROUP_ROOT / "cgroup.controllers"
    if unified.exists():
        if "cpu" not in unified.read_text().split():
            return None, "cgroup v2 without the cpu controller"
        if os.access(CGROUP_ROOT, os.W_OK):
            return CgroupFS(2, CGROUP_ROOT), "cgroup v2"
        return None, "cgroups are not writable by this user (run as root to cap CPU)"
    v1 = CGROUP_ROOT / "cpu"
    if (v1 / "cpu.cfs_quota_us").exists():
        if os.access(v1, os.W_OK):
            return CgroupFS(1, v1), "cgroup v1"
        return None, "cgroups are not writable by this user (run as root to cap CPU)"
    return None, "no cgroup cpu controller on this machine"


def wrap(command: list[str], *, cgroup: str, cpus: float | None) -> list[str]:
    """``command`` run inside ``cgroup`` with a limit of ``cpus``."""
    cap = ["--cpus", str(cpus)] if cpus is not None else []
    return [sys.executable, "-m", "twinshop.cpucap", "--cgroup", cgroup, *cap, "--", *command]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m twinshop.cpucap", description="run a command under a CPU cap")
    parser.add_argument("--cgroup", required=True, help="cgroup path relative to the cpu hierarchy")
    parser.add_argument("--cpus", type=float, help="CPUs allowed (e.g. 0.5); omitted: no limit of its own")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("a command to run is required after --")
    fs, reason = detect()
    if fs is None:
        sys.exit(f"cpucap: cannot cap CPU here: {reason}")
    fs.create(args.cgroup, args.cpus)
    fs.join(args.cgroup)
    os.execvp(command[0], command)


if __name__ == "__main__":
    main()
