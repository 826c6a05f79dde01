"""The `twinshop` command: run, inspect, break and measure the two variants on this machine."""

from __future__ import annotations

import argparse
import json
import sys

from shop.config import ConfigError
from twinshop.engine import Engine, EngineError
from twinshop.topology import VARIANTS


def cmd_up(engine: Engine, args: argparse.Namespace) -> None:
    if args.variant == "monolith" and (args.web is not None or args.api is not None or args.standby):
        raise EngineError("--web, --api and --standby belong to the distributed variant")
    if args.variant == "distributed" and args.workers is not None:
        raise EngineError("--workers belongs to the monolith (scale the distributed variant with --api/--web)")
    if args.variant == "monolith" and args.node_cpus is not None:
        raise EngineError("--node-cpus belongs to the distributed variant (the monolith is one node: use --cpus)")
    seconds = engine.up(
        args.variant,
        web=args.web,
        api=args.api,
        standby=args.standby,
        workers=args.workers,
        cpus=args.cpus,
        node_cpus=args.node_cpus,
    )
    print(f"{args.variant} is up at {engine.entry_url(args.variant)} (ready in {seconds:.1f}s)")
    if args.variant == "distributed":
        print(f"HAProxy statistics: http://127.0.0.1:{engine.ports.stats}/stats")


def cmd_down(engine: Engine, args: argparse.Namespace) -> None:
    stopped = engine.down(args.variant, wipe=args.wipe)
    what = ", ".join(stopped) if stopped else "nothing was running"
    print(f"stopped: {what}" + ("; data wiped" if args.wipe else ""))


def cmd_status(engine: Engine, args: argparse.Namespace) -> None:
    rows = engine.status()
    if args.json:
        print(json.dumps([row.__dict__ for row in rows], indent=2))
        return
    if not rows:
        print("nothing is running (start one: twinshop up monolith | twinshop up distributed)")
        return
    header = ("NAME", "VARIANT", "PID", "ADDRESS", "STATE", "HEALTH")
    table = [header] + [(r.name, r.variant, str(r.pid or "-"), r.address, r.state, r.health) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def cmd_kill(engine: Engine, args: argparse.Namespace) -> None:
    engine.kill(args.name)
    print(f"{args.name} stopped (bring it back with: twinshop start {args.name})")


def cmd_crash(engine: Engine, args: argparse.Namespace) -> None:
    engine.crash(args.name)
    print(f"{args.name} killed with SIGKILL; supervisord restarts it (watch: twinshop status)")


def cmd_start(engine: Engine, args: argparse.Namespace) -> None:
    engine.start(args.name)
    print(f"{args.name} started")


def cmd_reset(engine: Engine, args: argparse.Namespace) -> None:
    variants = engine.reset(args.variant)
    print(f"seed data reloaded: {', '.join(variants)}")


def cmd_demo(engine: Engine, args: argparse.Namespace) -> None:
    seconds = engine.up("monolith")
    print(f"monolith is up at {engine.entry_url('monolith')} (ready in {seconds:.1f}s): open it in a browser")


def cmd_scale(engine: Engine, args: argparse.Namespace) -> None:
    added, removed = engine.scale(args.tier, args.replicas)
    change = ", ".join([f"+{n}" for n in added] + [f"-{n}" for n in removed]) or "no change"
    print(f"{args.tier} replicas: {args.replicas} ({change})")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="twinshop",
        description="Run the monolith and the distributed shop on this machine, and compare them.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    up = sub.add_parser("up", help="start a variant and wait until it answers /readyz")
    up.add_argument("variant", choices=VARIANTS)
    up.add_argument("--web", type=int, help="web replicas (distributed; default 2)")
    up.add_argument("--api", type=int, help="API replicas (distributed; default 3)")
    up.add_argument("--standby", action="store_true", help="add the api-standby backup server (distributed)")
    up.add_argument("--workers", type=int, help="gunicorn workers in the monolith (default 2)")
    up.add_argument("--cpus", type=float, help="CPU cap for the whole variant, e.g. 1.5 (needs cgroups: root)")
    up.add_argument("--node-cpus", type=float, help="CPU cap for each distributed service, e.g. 0.25")
    up.set_defaults(func=cmd_up)

    down = sub.add_parser("down", help="stop a variant, or both; data stays unless --wipe")
    down.add_argument("variant", nargs="?", choices=VARIANTS)
    down.add_argument("--wipe", action="store_true", help="also delete the variant's data")
    down.set_defaults(func=cmd_down)

    status = sub.add_parser("status", help="one row per service, like `docker ps`")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=cmd_status)

    kill = sub.add_parser("kill", help="stop one service (api-2, db, monolith, ...) for a fault drill")
    kill.add_argument("name")
    kill.set_defaults(func=cmd_kill)

    crash = sub.add_parser("crash", help="SIGKILL one service's process; supervisord restarts it by itself")
    crash.add_argument("name")
    crash.set_defaults(func=cmd_crash)

    start = sub.add_parser("start", help="start a stopped service again")
    start.add_argument("name")
    start.set_defaults(func=cmd_start)

    reset = sub.add_parser("reset", help="reload the seed data (every running variant by default)")
    reset.add_argument("variant", nargs="?", choices=VARIANTS)
    reset.set_defaults(func=cmd_reset)
    scale = sub.add_parser("scale", help="change the number of api or web replicas of the running distributed variant")
    scale.add_argument("tier", choices=("api", "web"))
    scale.add_argument("replicas", type=int)
    scale.set_defaults(func=cmd_scale)

    demo = sub.add_parser("demo", help="the main job of `make demo`")
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    engine = Engine()
    try:
        args.func(engine, args)
    except (EngineError, ConfigError) as exc:
        print(f"twinshop: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("twinshop: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
