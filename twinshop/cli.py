"""The `twinshop` command: run, inspect, break and measure the two variants on this machine."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from shop.config import ConfigError
from twinshop.engine import Engine, EngineError
from twinshop.topology import VARIANTS


def cmd_up(engine: Engine, args: argparse.Namespace) -> None:
    if args.variant == "monolith" and (args.web is not None or args.api is not None or args.standby):
        raise EngineError("--web, --api and --standby belong to the distributed variant")
    if args.variant == "distributed" and args.workers is not None:
        raise EngineError("--workers belongs to the monolith (scale the distributed variant with --api/--web)")
    if args.variant == "monolith" and (args.node_cpus is not None or args.api_cpus is not None):
        raise EngineError("--node-cpus and --api-cpus belong to the distributed variant (the monolith: --cpus)")
    seconds = engine.up(
        args.variant,
        web=args.web,
        api=args.api,
        standby=args.standby,
        workers=args.workers,
        cpus=args.cpus,
        node_cpus=args.node_cpus,
        api_cpus=args.api_cpus,
        access_log=args.access_log,
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


def default_cpu_budget() -> float | None:
    """The CPU budget each variant gets in a comparison: all cores but half a core for Locust."""
    from twinshop import cpucap

    if cpucap.detect()[0] is None:
        return None
    return max(0.5, (os.cpu_count() or 1) - 0.5)


def apply_cpu_budget(engine: Engine, cpus: float | None) -> None:
    """(Re)start both variants with the same CPU budget, keeping their other options."""
    for variant in VARIANTS:
        options = engine.options(variant) if engine.supervisor(variant).running() else None
        if options is not None and (options.cpus != cpus or options.node_cpus or options.api_cpus):
            print(f"restarting {variant} with the comparison's CPU budget ...", file=sys.stderr)
            engine.down(variant)
        if options is None or options.cpus != cpus or options.node_cpus or options.api_cpus:
            kwargs = (
                {}
                if options is None
                else {"workers": options.workers}
                if variant == "monolith"
                else {"web": options.web, "api": options.api, "standby": options.standby}
            )
            engine.up(variant, cpus=cpus, **kwargs)


def cmd_compare(engine: Engine, args: argparse.Namespace) -> None:
    from loadtests import faults
    from loadtests.compare import ComparisonError, run_comparison

    fault = getattr(args, "fault", None)  # `twinshop demo` reuses this command without the option
    if args.scenario == "scaling":
        if fault:
            raise EngineError("--fault and --scenario scaling do not go together: run them one after the other")
        if args.cpus is not None or args.uncapped:
            raise EngineError("--scenario scaling sets its own CPU budget per step (n x 0.4 CPU): drop --cpus")
        from loadtests.scaling import run_scaling

        try:
            index = run_scaling(engine, quick=args.quick, out_dir=args.out, duration_s=args.duration, users=args.users)
        except ComparisonError as exc:
            raise EngineError(str(exc)) from exc
        print(f"report: {index}")
        return
    try:
        events = faults.parse(fault) if fault else []
    except faults.FaultSpecError as exc:
        raise EngineError(f"--fault: {exc}") from exc
    cpus = None if args.uncapped else (args.cpus or default_cpu_budget())
    try:
        apply_cpu_budget(engine, cpus)
        if any(e.action == "kill-all-primaries" for e in events):
            options = engine.options("distributed")
            if options is not None and not options.standby:
                print("restarting distributed with --standby (kill-all-primaries needs it) ...", file=sys.stderr)
                engine.down("distributed")
                engine.up("distributed", cpus=cpus, web=options.web, api=options.api, standby=True)
        index = run_comparison(
            engine,
            scenario=args.scenario,
            quick=args.quick,
            out_dir=args.out,
            duration_s=args.duration,
            peak_users=args.users,
            fault=events or None,
        )
    except ComparisonError as exc:
        raise EngineError(str(exc)) from exc
    print(f"report: {index}")


def cmd_locust(engine: Engine, args: argparse.Namespace) -> None:
    from loadtests import webui

    for variant in VARIANTS if args.target == "both" else (args.target,):
        engine.up(variant)
    target = engine.entry_url("monolith" if args.target == "both" else args.target)
    command = webui.command(
        target,
        args.scenario,
        monolith_url=engine.entry_url("monolith"),
        distributed_url=engine.entry_url("distributed"),
        web_port=engine.ports.locust,
    )
    print(f"Locust web UI: http://127.0.0.1:{engine.ports.locust}  (target {target}; Ctrl-C to stop)", flush=True)
    os.execvpe(command[0], command, webui.environment())  # noqa: S606 - becomes the Locust process


def cmd_demo(engine: Engine, args: argparse.Namespace) -> None:
    args.scenario, args.quick, args.out, args.duration, args.users = None, True, None, None, None
    args.cpus, args.uncapped = None, False
    cmd_compare(engine, args)
    print(f"the shops stay up: monolith {engine.entry_url('monolith')}, distributed {engine.entry_url('distributed')}")


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
    up.add_argument("--api-cpus", type=float, help="CPU cap for each API replica only (overrides --node-cpus there)")
    up.add_argument(
        "--access-log",
        action="store_true",
        help="log every request: gunicorn's access log in the monolith, HAProxy's (both hops) in the distributed "
        "variant; off by default, since logging costs CPU in comparisons (errors and retries are always logged)",
    )
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

    compare = sub.add_parser("compare", help="run the same Locust scenario against both variants; write the report")
    compare.add_argument("--quick", action="store_true", help="a whole comparison in about 3 minutes")
    compare.add_argument(
        "--scenario",
        help="quick, step, spike or soak (default: step; quick with --quick); scaling: workers vs API replicas "
        "at 1, 2, 4 under the same CPU budget",
    )
    compare.add_argument(
        "--fault",
        metavar="EVENTS",
        help="fault drill during each run, e.g. kill:api-1@30s,start:api-1@45s | kill:db@30s,start:db@45s | "
        "crash:monolith@30s | kill-all-primaries:api@30s",
    )
    compare.add_argument("--out", type=Path, help="report folder (default: reports/<timestamp>/)")
    compare.add_argument("--duration", type=float, help="seconds of measured load per variant (stretches the shape)")
    compare.add_argument("--users", type=int, help="peak number of simulated users")
    compare.add_argument("--cpus", type=float, help="CPU budget of each variant (default: all cores but 0.5)")
    compare.add_argument("--uncapped", action="store_true", help="no CPU caps (the report says so)")
    compare.set_defaults(func=cmd_compare)

    locust = sub.add_parser("locust", help="open the Locust web UI on :8089 against either variant")
    locust.add_argument(
        "--target",
        choices=(*VARIANTS, "both"),
        default="both",
        help="variant(s) to start; the UI's target drop-down switches between them",
    )
    locust.add_argument("--scenario", default="quick", help="load shape preselected in the UI")
    locust.set_defaults(func=cmd_locust)

    demo = sub.add_parser("demo", help="the main job of `make demo`: a quick comparison of both variants")
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
