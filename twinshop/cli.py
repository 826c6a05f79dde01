"""The `twinshop` command: run, inspect, break and measure the two variants. It only parses and prints:
the engines (:mod:`twinshop.engines`) run the variants, the harness (:mod:`loadtests.harness`) measures them."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path

from shop.config import ConfigError
from twinshop.engines import ENGINES, open_engine
from twinshop.engines.base import Engine, EngineError
from twinshop.options import VARIANTS, OptionsError, VariantOptions
from twinshop.state import StateError

EXIT_FAILED = 1
EXIT_UNTRUSTWORTHY = 3  # `compare` wrote its report, but the verdict is "not trustworthy"
EXIT_INTERRUPTED = 130


def cmd_up(engine: Engine, args: argparse.Namespace) -> None:
    if args.variant == "monolith" and (args.web is not None or args.api is not None or args.standby
                                       or args.mailers is not None):  # fmt: skip
        raise OptionsError("--web, --api, --mailers and --standby belong to the distributed variant")
    if args.variant == "distributed" and args.workers is not None:
        raise OptionsError("--workers belongs to the monolith (scale the distributed variant with --api/--web)")
    current = engine.options(args.variant) or VariantOptions(args.variant)
    wanted = current.updated(
        web=args.web,
        api=args.api,
        standby=args.standby or None,
        mailers=args.mailers,
        workers=args.workers,
        cpus=args.cpus,
        node_cpus=args.node_cpus,
        api_cpus=args.api_cpus,
        access_log=args.access_log or None,
    )
    result = engine.up(wanted)
    url = engine.entry_url(args.variant)
    if result.already_running:
        since = ""
        if result.started_at:
            minutes = (time.time() - result.started_at) / 60
            ago = f"{minutes:.0f} min ago" if minutes >= 1 else "less than a minute ago"
            since = f" (started at {time.strftime('%H:%M:%S', time.localtime(result.started_at))}, {ago})"
        print(f"{args.variant} is already running at {url}{since}")
    else:
        print(f"{args.variant} is up at {url} (ready in {result.seconds:.1f}s)")
    if args.variant == "distributed":
        print(f"HAProxy statistics: {engine.stats_url()}")
    if hasattr(engine, "mailbox"):  # an engine that runs the order events
        broker = engine.broker(args.variant)
        if broker is not None:
            print(f"RabbitMQ management: {broker.ui} (user shop; `twinshop status` shows the queues)")
        print(f"mailbox: {engine.mailbox(args.variant).url} (or `twinshop mail {args.variant}`)")


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
    header = ("NAME", "VARIANT", "PID", "ADDRESS", "STATE", "HEALTH", "DETAIL")
    table = [header] + [(r.name, r.variant, str(r.pid or "-"), r.address, r.state, r.health, r.detail) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def engine_flag(engine: Engine) -> str:
    """What a suggested command needs to reach the same engine (nothing for the default)."""
    default = os.environ.get("TWINSHOP_ENGINE") or "local"
    return "" if engine.name == default else f" --engine {engine.name}"


def cmd_kill(engine: Engine, args: argparse.Namespace) -> None:
    engine.kill(args.name, variant=args.variant)
    if engine.name == "swarm" and args.name.startswith(("api-", "web-", "mailer-")) and args.name != "api-standby":
        # A Swarm service wants its N tasks: a stopped replica is replaced at once.
        print(f"{args.name} stopped; Swarm starts a new task in its slot at once (watch: twinshop status"
              f"{engine_flag(engine)})")  # fmt: skip
        return
    again = f"twinshop start {args.name}" + (f" --variant {args.variant}" if args.variant else "") + engine_flag(engine)
    print(f"{args.name} stopped (bring it back with: {again})")


def cmd_crash(engine: Engine, args: argparse.Namespace) -> None:
    engine.crash(args.name, variant=args.variant)
    # A container comes back by Docker's restart policy (a task by Swarm's); a process (the box's too)
    # by supervisord.
    container = engine.name in ("compose", "swarm") and not args.name.startswith("monolith")
    restarter = "supervisord restarts it"
    if container:
        swarm = engine.name == "swarm"
        restarter = "Swarm starts a new task in its slot" if swarm else "Docker's restart policy restarts the container"
    print(f"{args.name} killed with SIGKILL; {restarter} (watch: twinshop status{engine_flag(engine)})")


def cmd_build(engine: Engine, args: argparse.Namespace) -> None:
    if not hasattr(engine, "build"):
        raise EngineError(f"the {engine.name} engine runs the code in place, nothing to build: use --engine compose")
    images = engine.build(args.variant, say=lambda line: print(line, file=sys.stderr, flush=True))
    for image, image_id in images.items():
        print(f"built {image} ({image_id.removeprefix('sha256:')[:12]})")


def cmd_start(engine: Engine, args: argparse.Namespace) -> None:
    engine.start(args.name, variant=args.variant)
    print(f"{args.name} started")


def cmd_mail(engine: Engine, args: argparse.Namespace) -> None:
    """The variant's mailbox: what its mail server received, newest last."""
    variants = [args.variant] if args.variant else [v for v in VARIANTS if engine.running(v)]
    if not variants:
        raise EngineError("no variant is running: `twinshop up monolith` or `twinshop up distributed` first")
    found = {}
    for variant in variants:
        mailbox = engine.mailbox(variant)
        try:
            found[variant] = mailbox.messages()
        except Exception as exc:  # Unreachable: one line, as every error of this command
            raise EngineError(f"the {variant} mail server does not answer at {mailbox.url}: {exc}") from None
    if args.json:
        print(json.dumps(found, indent=2))
        return
    for variant, messages in found.items():
        shown = messages[-args.last:] if args.last else messages
        print(f"{variant}: {len(messages)} mails ({engine.mailbox(variant).url})")
        rows = [("#", "RECEIVED", "ORDER", "TO", "SENT BY", "SUBJECT")] + [
            (str(m["id"]), time.strftime("%H:%M:%S", time.localtime(m["received"])), str(m["order"] or "-"),
             ", ".join(m["to"]), m["node"] or "-", m["subject"]) for m in shown]  # fmt: skip
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            print("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def cmd_reset(engine: Engine, args: argparse.Namespace) -> None:
    variants = engine.reset(args.variant)
    print(f"seed data reloaded: {', '.join(variants)}")


def cmd_scale(engine: Engine, args: argparse.Namespace) -> None:
    added, removed = engine.scale(args.tier, args.replicas)
    change = ", ".join([f"+{n}" for n in added] + [f"-{n}" for n in removed]) or "no change"
    print(f"{args.tier} replicas: {args.replicas} ({change})")


def cmd_compare(engine: Engine, args: argparse.Namespace) -> int:
    from loadtests.harness import compare

    # `twinshop status | head` may end quietly on SIGPIPE (below), but a comparison talks to services its
    # drills stop and start: a write to a socket one of them reset must be an error it records
    # (BrokenPipeError), not a signal that kills the whole comparison.
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)

    if args.scenario == "scaling":
        if args.fault:
            raise OptionsError("--fault and --scenario scaling do not go together: run them one after the other")
        if args.cpus is not None or args.uncapped:
            raise OptionsError("--scenario scaling sets its own CPU budget per step (n x 0.4 CPU): drop --cpus")
        from loadtests.harness.scaling import run_scaling

        index = run_scaling(engine, quick=args.quick, out_dir=args.out, duration_s=args.duration, users=args.users,
                            rounds=args.rounds, lang=args.lang)  # fmt: skip
        print(f"report: {index}")
        return 0
    if args.reruns is not None and not 0 <= args.reruns <= 5:
        raise OptionsError(f"--reruns must be from 0 to 5, not {args.reruns}")
    request = compare.Request(
        scenario=args.scenario,
        quick=args.quick,
        rounds=args.rounds,
        duration_s=args.duration,
        peak_users=args.users,
        warmup_s=args.warmup,
        cpus=args.cpus,
        uncapped=args.uncapped,
        fault=args.fault,
        lang=args.lang,
        out_dir=args.out,
        variants=tuple(args.sides) or VARIANTS,
        workers=args.workers,
        **({} if args.reruns is None else {"max_reruns": args.reruns}),
    )
    outcome = compare.run_comparison(engine, request, say=lambda message: print(message, file=sys.stderr))
    print(f"report: {outcome.index}")
    if not outcome.trustworthy:
        from loadtests.report import sentences
        from loadtests.report.words import Words

        print(f"twinshop: {sentences.verdict(outcome.comparison, Words('en'))}", file=sys.stderr)
        return EXIT_UNTRUSTWORTHY
    return 0


def cmd_cluster(engine: Engine, args: argparse.Namespace) -> None:
    from twinshop.engines.swarm import SwarmEngine

    swarm = SwarmEngine(ports=engine.ports)
    cluster = swarm.cluster
    if args.action == "up":
        seconds = cluster.up(args.nodes, node_cpus=args.node_cpus, memory_mb=args.node_memory,
                             say=lambda line: print(line, file=sys.stderr, flush=True),
                             deploy=swarm.first_deploy)  # fmt: skip
        count = len(cluster.nodes())
        print(f"cluster up: {count} node{'s' if count > 1 else ''}, the shop at "
              f"{engine.ports.url(engine.ports.lb)} (ready in {seconds:.0f}s)")  # fmt: skip
        print(f"HAProxy statistics: {engine.ports.url(engine.ports.stats)}/stats; where each task runs: "
              "twinshop cluster status; the same commands on it: --engine swarm")  # fmt: skip
    elif args.action == "down":
        removed = cluster.down()
        print(f"cluster removed: {', '.join(removed)}" if removed else "no cluster was up")
    else:
        print_cluster_status(cluster, as_json=args.json)


def print_cluster_status(cluster, *, as_json: bool = False) -> None:
    if not cluster.exists():
        print(json.dumps({"nodes": [], "tasks": []}) if as_json else "no cluster is up (start one: twinshop cluster "
              "up --nodes 3)")  # fmt: skip
        return
    nodes = cluster.node_rows()
    tasks = cluster.tasks() if nodes and nodes[0]["container"] == "running" else []
    if as_json:
        print(json.dumps({"nodes": nodes, "tasks": tasks}, indent=2))
        return
    on_node: dict[str, list[str]] = {}
    for task in tasks:
        if task["state"] == "running":
            on_node.setdefault(task["node"], []).append(task["name"])
    header = ("NODE", "ROLE", "STATE", "AVAILABILITY", "ADDRESS", "CONTAINER", "TASKS")
    table = [header] + [(n["name"], n["role"], n["state"], n["availability"], n["address"], n["container"],
                         " ".join(on_node.get(n["name"], [])) or "-") for n in nodes]  # fmt: skip
    print_table(table)
    if tasks:
        print()
        print_table([("TASK", "NODE", "STATE")] + [(t["name"], t["node"] or "-", t["since"] + (f" ({t['error']})" if
                    t["error"] else "")) for t in tasks])  # fmt: skip


def print_table(table: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def cmd_locust(engine: Engine, args: argparse.Namespace) -> None:
    from loadtests.harness import locust

    for variant in VARIANTS if args.target == "both" else (args.target,):
        engine.up(engine.options(variant) or VariantOptions(variant))
    target = "monolith" if args.target == "both" else args.target
    urls = {variant: engine.entry_url(variant) for variant in VARIANTS}
    command = locust.web_ui_command(urls=urls, target=target, scenario=args.scenario, web_port=engine.ports.locust)
    print(f"Locust web UI: http://127.0.0.1:{engine.ports.locust}  (target {urls[target]}; Ctrl-C to stop)",
          flush=True)  # fmt: skip
    os.execvpe(command[0], command, locust.environment())  # noqa: S606 - becomes the Locust process


def cmd_demo(engine: Engine, args: argparse.Namespace) -> int:
    args.scenario, args.quick, args.out, args.duration, args.users, args.rounds = None, True, None, None, None, None
    args.warmup, args.sides, args.workers = None, [], 0
    args.cpus, args.uncapped, args.fault, args.reruns = None, False, None, None
    code = cmd_compare(engine, args)
    print(f"the shops stay up: monolith {engine.entry_url('monolith')}, distributed {engine.entry_url('distributed')}")
    return code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="twinshop",
        description="Run the monolith and the distributed shop on this machine, and compare them.",
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--engine",
        choices=ENGINES,
        default=os.environ.get("TWINSHOP_ENGINE") or "local",
        help="local processes (default), Docker Compose containers, or stacks on the Docker Swarm of "
        "`twinshop cluster up` (env: TWINSHOP_ENGINE)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, func, help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, parents=[common])
        p.set_defaults(func=func)
        return p

    up = command("up", cmd_up, "start a variant and wait until it answers /readyz")
    up.add_argument("variant", choices=VARIANTS)
    up.add_argument("--web", type=int, help="web replicas (distributed; default 2)")
    up.add_argument("--api", type=int, help="API replicas (distributed; default 3)")
    up.add_argument("--standby", action="store_true", help="add the api-standby backup server (distributed)")
    up.add_argument("--mailers", type=int, help="mailer consumers of the order events (distributed; default 2)")
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

    down = command("down", cmd_down, "stop a variant, or both; data stays unless --wipe")
    down.add_argument("variant", nargs="?", choices=VARIANTS)
    down.add_argument("--wipe", action="store_true", help="also delete the variant's data")

    status = command("status", cmd_status, "one row per service, like `docker ps`")
    status.add_argument("--json", action="store_true")

    for name, func, text in (
        ("kill", cmd_kill, "stop one service (api-2, db, broker, mailer-1, mail, monolith, ...) for a fault drill"),
        ("crash", cmd_crash, "SIGKILL one service's process; supervisord (or Docker's restart policy) restarts it"),
        ("start", cmd_start, "start a stopped service again"),
    ):
        one = command(name, func, text)
        one.add_argument("name")
        one.add_argument("--variant", choices=VARIANTS, help="where both variants have the service (mail)")

    mail = command("mail", cmd_mail, "list the mails a variant's mail server received (order confirmations)")
    mail.add_argument("variant", nargs="?", choices=VARIANTS)
    mail.add_argument("--last", type=int, default=20, help="show only the latest N (0: all; default 20)")
    mail.add_argument("--json", action="store_true", help="every mail, as JSON")

    build = command("build", cmd_build, "build the images of a variant, or both (--engine compose)")
    build.add_argument("variant", nargs="?", choices=VARIANTS)

    reset = command("reset", cmd_reset, "reload the seed data (every running variant by default)")
    reset.add_argument("variant", nargs="?", choices=VARIANTS)

    scale = command("scale", cmd_scale, "change the number of api, web or mailer replicas of the distributed variant")
    scale.add_argument("tier", choices=("api", "web", "mailer"))
    scale.add_argument("replicas", type=int)

    compare = command("compare", cmd_compare, "run the same Locust scenario against both variants; write the report")
    compare.add_argument(
        "sides",
        nargs="*",
        metavar="SIDE",
        help="what to compare (default: monolith distributed): two of monolith, distributed, each optionally "
        "on an engine, e.g. `monolith@local monolith@compose` (what containers cost)",
    )
    compare.add_argument("--quick", action="store_true", help="a whole comparison in about 3 minutes")
    compare.add_argument(
        "--scenario",
        help="quick, step, spike, soak or capacity (default: step; quick with --quick); scaling: workers vs API "
        "replicas at 1, 2, 4 under the same CPU budget",
    )
    compare.add_argument("--rounds", type=int, help="rounds per variant, interleaved (default 3)")
    compare.add_argument(
        "--fault",
        metavar="EVENTS",
        help="fault drill during each run, e.g. kill:api-1@30s,start:api-1@45s | kill:db@10s,start:db@15s | "
        "crash:monolith@10s | kill-all-primaries:api@10s | with --engine swarm: kill-node:node-2@30s, "
        "start-node:node-2@60s, partition:node-3@30s, heal:node-3@50s",
    )
    compare.add_argument("--lang", choices=("en", "es"), help="language of the report (default: the locale's)")
    compare.add_argument("--out", type=Path, help="report folder (default: reports/<timestamp>/)")
    compare.add_argument("--duration", type=float, help="seconds of measured load per run (stretches the shape)")
    compare.add_argument("--users", type=int, help="peak number of simulated users")
    compare.add_argument("--warmup", type=float, help="seconds of read-only load before the rounds (default 8 with "
                         "--quick, 20 otherwise)")  # fmt: skip
    compare.add_argument("--cpus", type=float, help="CPU budget of each variant (default: all cores but 0.5)")
    compare.add_argument("--workers", type=int, default=0, help="Locust as a master and N worker processes, for "
                         "loads one process cannot generate (each worker's CPU is checked)")  # fmt: skip
    compare.add_argument("--uncapped", action="store_true", help="no CPU caps (the report says so)")
    compare.add_argument("--reruns", type=int, help="measure a run that other programs disturbed again at most N "
                         "times (default 2; 0: never)")  # fmt: skip

    locust = command("locust", cmd_locust, "open the Locust web UI on :8089 against either variant")
    locust.add_argument(
        "--target",
        choices=(*VARIANTS, "both"),
        default="both",
        help="variant(s) to start; the UI's target field switches between them",
    )
    locust.add_argument("--scenario", default="quick", help="load shape preselected in the UI")

    cluster = command("cluster", cmd_cluster, "a Docker Swarm of N engines on this machine, the shop deployed on it")
    cluster.add_argument("action", choices=("up", "down", "status"))
    cluster.add_argument("--json", action="store_true", help="status as JSON: nodes and tasks")
    cluster.add_argument("--nodes", type=int, default=3, help="nodes (Docker engines) to start (default 3)")
    cluster.add_argument("--node-cpus", type=float, help="CPU cap of each node, e.g. 0.6 (default: none)")
    cluster.add_argument("--node-memory", type=int, default=1024, help="memory cap of each node in MiB (default 1024; "
                         "node-1, which also holds the database and the broker, gets 1536 more)")  # fmt: skip

    demo = command("demo", cmd_demo, "the main job of `make demo`: a quick comparison of both variants")
    demo.add_argument("--lang", choices=("en", "es"), help="language of the report (default: the locale's)")
    return parser


def main(argv: list[str] | None = None) -> int:
    from loadtests.harness.compare import ComparisonError, Interrupted

    try:
        args = build_parser().parse_args(argv)
        engine = open_engine(args.engine)
        code = args.func(engine, args) or 0
        sys.stdout.flush()  # here, not at exit: a reader that went away (`| head -1`) is seen below
        return code
    except BrokenPipeError:
        # `twinshop cluster status | head -3`: the reader has what it wanted. Python's own recipe: stdout
        # pointed at /dev/null, so that the flush at exit does not fail again; the shell's status for it.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    except (EngineError, OptionsError, StateError, ConfigError, ComparisonError) as exc:
        print(f"twinshop: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except Interrupted as exc:
        print(f"twinshop: stopped by {exc} (Locust stopped, every service started again)", file=sys.stderr)
        return 128 + exc.signum
    except KeyboardInterrupt:
        print("twinshop: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sys.exit(main())
