"""Container figures: build time and size of each image, and `up --wait` time of each compose file.

    .venv/bin/python benchmarks/containers.py [--no-cache] [--rounds 3]

Uses the running Docker engine or, as root, starts dockerd (and stops it at the end), makes
debian:bookworm-slim from Debian's archive if it is missing, builds the four images (with
``--no-cache``: from scratch, as on a fresh CI machine), then brings each compose file up with
``--wait`` from the built images ``--rounds`` times (each round from an empty volume, so the
database is created and seeded every time), and removes what it started. Ports are shifted by
46000, project names start with ``twinshop-bench``.

Targets (issue 12): either variant healthy within 60 s of `docker compose up --wait` from built
images; the monolith box image <= 500 MB. Not a test: it prints figures and exits 0 (1 only when
it could not run at all, 2 when a target is missed).
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "containers"))

from dockerhost import IMAGES, ComposeProject, DockerHost, EngineUnavailable  # noqa: E402

OFFSET = 46000
UP_TARGET_S = 60.0
MONOLITH_MAX_MB = 500


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-cache", action="store_true", help="build every image from scratch")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    try:
        host = DockerHost.obtain()
    except EngineUnavailable as exc:
        print(f"containers: {exc}", file=sys.stderr)
        return 1
    missed = []
    try:
        started = time.monotonic()
        host.ensure_base_image()
        base_mb = host.image_size("debian:bookworm-slim") / 1e6
        print(f"debian:bookworm-slim ready in {time.monotonic() - started:.0f} s ({base_mb:.0f} MB)")
        for image in IMAGES:
            seconds = host.build(image, no_cache=args.no_cache)
            size_mb = host.image_size(image) / 1e6
            print(f"{image:26} {size_mb:5.0f} MB   built in {seconds:.0f} s")
            if image == "twinshop-monolith" and size_mb > MONOLITH_MAX_MB:
                missed.append(f"monolith image {size_mb:.0f} MB > {MONOLITH_MAX_MB} MB")
        with tempfile.TemporaryDirectory() as tmp:
            env_file = Path(tmp) / ".env"
            env_file.write_text(
                f"SECRET_KEY={secrets.token_hex(32)}\nDB_PASSWORD={secrets.token_hex(16)}\n"
                f"TWINSHOP_MONOLITH_PORT={8001 + OFFSET}\nTWINSHOP_LB_PORT={8002 + OFFSET}\n"
                f"TWINSHOP_STATS_PORT={8404 + OFFSET}\n"
            )
            for variant in ("monolith", "distributed"):
                project = ComposeProject(
                    host, ROOT / "compose" / f"{variant}.yaml", f"twinshop-bench-{variant}", env_file
                )
                times = []
                try:
                    for _ in range(args.rounds):
                        project.down()
                        times.append(project.up())
                finally:
                    project.down()
                median = statistics.median(times)
                rounds = ", ".join(f"{t:.1f}" for t in times)
                print(f"up --wait {variant:12} median {median:5.1f} s   (rounds: {rounds} s)")
                if median > UP_TARGET_S:
                    missed.append(f"{variant} up --wait {median:.1f} s > {UP_TARGET_S:.0f} s")
    finally:
        host.close()
    for miss in missed:
        print(f"target missed: {miss}")
    return 2 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
