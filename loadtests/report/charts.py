"""Every chart of every report, in one style: PNGs readable on a projector, one colour per variant everywhere.

Each function returns a :class:`Chart` (its PNG bytes, a title and a caption in the report's
language, and the fault-event markers it carries). The comparison report draws the per-second
series (every round as its own line), the headline figures (the median of the rounds and the
range), who served the traffic, and the capacity curves; the scaling report its curves against
the CPU budget.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from loadtests import drills  # noqa: E402
from loadtests.analysis import stats  # noqa: E402
from loadtests.analysis.rounds import METRIC, Comparison  # noqa: E402
from loadtests.analysis.run import LOCUST, OWN_LABELS, RunAnalysis  # noqa: E402
from loadtests.report.words import Words  # noqa: E402
from loadtests.scenarios import CAPACITY_P95_MS  # noqa: E402

VARIANT_COLOURS = {"monolith": "#0072B2", "distributed": "#E69F00"}  # blue / orange, colour-blind safe
EXTRA_COLOURS = ("#009E73", "#CC79A7", "#D55E00", "#56B4E9")
# Nodes on the "who served the traffic" charts: web replicas green, API replicas blue, the
# standby vermilion (so its joining stands out), HAProxy's own errors grey, failures red.
WEB_COLOURS = ("#1B7837", "#5AAE61", "#A6DBA0", "#00441B", "#78C679", "#238443", "#C2E699", "#006837", "#41AB5D")
API_COLOURS = ("#08519C", "#4292C6", "#9ECAE1", "#2171B5", "#6BAED6", "#084594", "#C6DBEF", "#3182BD", "#807DBA")
NODE_COLOURS = {"monolith": "#0072B2", "api-standby": "#D55E00", "lb": "#8C8C8C", drills.ERROR: "#FB9A99",
                drills.FAILED: "#E41A1C"}  # fmt: skip
# The machines of a Swarm (node-1, node-2, ...) on the "which machine served" chart (Paul Tol's bright).
MACHINE_COLOURS = ("#4477AA", "#EE6677", "#228833", "#CCBB44", "#66CCEE", "#AA3377", "#BBBBBB", "#222255", "#997700")
MARKER_COLOUR = "#333333"
ROUND_STYLES = ("-", "--", ":", "-.")


@dataclass
class Chart:
    slug: str
    title: str
    caption: str
    png: bytes
    markers: list[dict] = field(default_factory=list)  # the fault events drawn on it


def colour(variant: str, index: int = 0) -> str:
    return VARIANT_COLOURS.get(variant, EXTRA_COLOURS[index % len(EXTRA_COLOURS)])


def side_colours(comparison: Comparison) -> dict[str, str]:
    """Each side's colour: its variant's (blue monolith, orange distributed), another one when two sides
    run the same variant (the monolith as processes against the monolith in a container)."""
    colours: dict[str, str] = {}
    for i, v in enumerate(comparison.variants):
        variant = v.runs[0].variant if v.runs else v.variant.partition("@")[0]
        chosen = VARIANT_COLOURS.get(variant, EXTRA_COLOURS[i % len(EXTRA_COLOURS)])
        colours[v.variant] = chosen if chosen not in colours.values() else EXTRA_COLOURS[i % len(EXTRA_COLOURS)]
    return colours


def node_colour(node: str) -> str:
    node = node.partition("@")[0]  # a Swarm task keeps its slot's colour on whichever machine it runs
    if node in NODE_COLOURS:
        return NODE_COLOURS[node]
    number = node.rsplit("-", 1)[-1]
    index = int(number) - 1 if number.isdigit() else 0
    return (WEB_COLOURS if node.startswith("web") else API_COLOURS)[index % 9]


def style(ax, *, title: str, xlabel: str, ylabel: str, title_size: int = 17) -> None:
    """The house style: a left-aligned title, large labels, light grid, no top/right frame, axes from 0."""
    ax.set_title(title, fontsize=title_size, loc="left")
    ax.set_xlabel(xlabel, fontsize=13)
    ax.set_ylabel(ylabel, fontsize=13)
    ax.tick_params(labelsize=12)
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def png(fig) -> bytes:
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


def use_decimal_comma(ax, w: Words, *, x: bool = True) -> None:
    """Spanish tick labels: 1,5 rather than 1.5 (``x=False`` keeps labelled x ticks as they are)."""
    if w.lang == "es":
        from matplotlib.ticker import FuncFormatter

        for axis in (ax.xaxis, ax.yaxis) if x else (ax.yaxis,):
            axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}".replace(".", ",")))


# -- over time: every round of every variant -----------------------------------------------------------

SERIES = {
    "requests_per_second": (lambda s: s.rps, ("Throughput", "Rendimiento"), ("requests/s", "peticiones/s"),
                            ("Requests completed per second.", "Peticiones completadas por segundo.")),
    "latency_p50": (lambda s: s.p50, ("Median latency (p50)", "Latencia mediana (p50)"), ("ms", "ms"),
                    ("Half of each second's answered requests were faster than this.",
                     "La mitad de las peticiones respondidas de cada segundo fueron más rápidas.")),
    "latency_p95": (lambda s: s.p95, ("p95 latency", "Latencia p95"), ("ms", "ms"),
                    ("95 % of each second's answered requests were faster than this.",
                     "El 95 % de las peticiones respondidas de cada segundo fueron más rápidas.")),
    "latency_p99": (lambda s: s.p99, ("p99 latency", "Latencia p99"), ("ms", "ms"),
                    ("99 % were faster: the slow tail.", "El 99 % fueron más rápidas: la cola lenta.")),
    "failures_per_second": (lambda s: s.failures, ("Failures", "Fallas"), ("failures/s", "fallas/s"),
                            ("Failed requests per second (wrong answers and no answer included).",
                             "Peticiones fallidas por segundo (respuestas incorrectas y sin respuesta incluidas).")),
    "users": (lambda s: s.users, ("Simulated users", "Usuarios simulados"), ("users", "usuarios"),
              ("Users running, following the scenario's stages.", "Usuarios activos según las etapas del escenario.")),
}  # fmt: skip


def draw_markers(ax, runs: Sequence[RunAnalysis], palette: dict[str, str], *, labels: bool = True) -> list[dict]:
    """A dashed vertical line where each fault event happened in each run, in its variant's colour, and
    the event's name once at the top. Returns what was drawn (for summary.json and the tests)."""
    drawn: list[dict] = []
    at_by_label: dict[str, list[float]] = {}
    for run in runs:
        for event in run.events:
            if not event.happened:
                continue
            ax.axvline(event.applied_s, color=palette[run.label], linestyle=(0, (5, 3)), linewidth=1.2, alpha=0.8)
            at_by_label.setdefault(event.label, []).append(event.applied_s)
            drawn.append({"variant": run.label, "round": run.round, "label": event.label,
                          "t": round(event.applied_s, 3)})  # fmt: skip
    if labels:
        for label, times in at_by_label.items():
            ax.text(sum(times) / len(times), 0.98, f" {label}", transform=ax.get_xaxis_transform(), rotation=90,
                    va="top", ha="right", fontsize=9, color=MARKER_COLOUR,
                    bbox={"facecolor": "white", "alpha": 0.75, "edgecolor": "none", "pad": 1})  # fmt: skip
    return drawn


def all_runs(comparison: Comparison) -> list[RunAnalysis]:
    return [run for v in comparison.variants for run in v.runs]


def over_time(comparison: Comparison, slug: str, w: Words) -> Chart:
    """One per-second series, every round of every variant as its own line, steady windows shaded."""
    pick, title, ylabel, caption = SERIES[slug]
    palette = side_colours(comparison)
    fig, ax = plt.subplots(figsize=(10, 4.6), dpi=150)
    for v in comparison.variants:
        for i, run in enumerate(v.runs):
            xs = [s.t + 0.5 for s in run.series]
            ys = [math.nan if pick(s) is None else float(pick(s)) for s in run.series]
            label = w.label(v.variant) if i == 0 else None
            ax.plot(xs, ys, color=palette[v.variant], linewidth=1.8, alpha=0.85,
                    linestyle=ROUND_STYLES[i % len(ROUND_STYLES)], label=label)  # fmt: skip
        if v.runs:
            ax.axvspan(v.runs[0].window.start_s, v.runs[0].window.end_s, color=palette[v.variant], alpha=0.05)
    markers = draw_markers(ax, all_runs(comparison), palette)
    style(ax, title=w(*title), xlabel=w("seconds since the start of the run", "segundos desde el inicio"),
          ylabel=w(*ylabel))  # fmt: skip
    ax.set_xlim(left=0)
    use_decimal_comma(ax, w)
    legend = w("one line per round; shaded: steady state", "una línea por ronda; sombreado: estado estable")
    ax.legend(fontsize=12, frameon=False, loc="best", title=legend, title_fontsize=10)
    return Chart(slug, w(*title), w(*caption), png(fig), markers)


def cpu_over_time(comparison: Comparison, w: Words) -> Chart:
    """The variant's processes together (solid) and the load generator (dashed), every round."""
    palette = side_colours(comparison)
    fig, ax = plt.subplots(figsize=(10, 4.6), dpi=150)
    for v in comparison.variants:
        for i, run in enumerate(v.runs):
            services: dict[int, float] = {}
            generator: dict[int, float] = {}
            for t, label, value in run.m.cpu:
                if not 0 <= t <= run.m.duration_s + 1 or "/" in label:
                    continue
                if label == LOCUST:
                    generator[round(t)] = generator.get(round(t), 0.0) + value
                elif label not in OWN_LABELS:
                    services[round(t)] = services.get(round(t), 0.0) + value
            first = i == 0
            ax.plot(sorted(services), [services[t] for t in sorted(services)], color=palette[v.variant], linewidth=2,
                    alpha=0.85, label=w(f"{w.label(v.variant)} services", f"{w.label(v.variant)}: servicios") if first
                    else None)  # fmt: skip
            name = w.label(v.variant)
            ax.plot(sorted(generator), [generator[t] for t in sorted(generator)], color=palette[v.variant],
                    linewidth=1.3, linestyle="--", alpha=0.85,
                    label=w(f"{name} load generator", f"{name}: generador de carga") if first else None)  # fmt: skip
    markers = draw_markers(ax, all_runs(comparison), palette)
    style(ax, title=w("CPU used", "CPU usada"), xlabel=w("seconds since the start of the run", "segundos desde el "
          "inicio"), ylabel=w("% of one core", "% de un núcleo"))  # fmt: skip
    ax.set_xlim(left=0)
    use_decimal_comma(ax, w)
    ax.legend(fontsize=11, frameon=False, loc="best")
    caption = w("All of each variant's processes together (solid) and the load generator (dashed), every round.",
                "Todos los procesos de cada variante juntos (continua) y el generador de carga (discontinua), "
                "en cada ronda.")  # fmt: skip
    return Chart("cpu", w("CPU used", "CPU usada"), caption, png(fig), markers)


# -- the headline: medians and ranges ---------------------------------------------------------------

HEADLINE_CHARTED = ("throughput", "p95", "availability", "cpu_per_request", "capacity_users", "capacity_rps")


def headline(comparison: Comparison, w: Words) -> Chart:
    """One panel per headline figure: each variant's median (bar), range (whisker) and rounds (dots)."""
    charted = [m for m in HEADLINE_CHARTED if m in comparison.headline]
    metrics = [m for m in charted if any(v.spread(m) for v in comparison.variants)]
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.2 * len(metrics) + 1, 4.4), dpi=150, squeeze=False)
    differences = comparison.differences()
    palette = side_colours(comparison)
    for ax, metric in zip(axes[0], metrics, strict=True):
        for i, v in enumerate(comparison.variants):
            s = v.spread(metric)
            if s is None:
                continue
            c = palette[v.variant]
            ax.bar(i, s.median, color=c, alpha=0.75, width=0.6)
            ax.errorbar(i, s.median, yerr=[[s.median - s.low], [s.high - s.median]], color="#222222", capsize=8,
                        linewidth=1.6)  # fmt: skip
            ax.scatter([i] * len(s.values), s.values, color="#222222", s=14, zorder=3)
        # "monolith (compose)" on two lines: two long names side by side would run into each other.
        names = [w.label(v.variant).replace(" (", "\n(") for v in comparison.variants]
        ax.set_xticks(range(len(comparison.variants)), names)
        d = differences.get(metric)
        verdict = "" if d is None else (w("clear difference", "diferencia clara") if d.clear else
                                        w("no clear difference", "sin diferencia clara"))  # fmt: skip
        name = w.metric(metric)
        style(ax, title=name[0].upper() + name[1:], xlabel=verdict, ylabel=w.unit(METRIC[metric].unit), title_size=14)
        if metric == "availability":
            ax.set_ylim(0, 105)
        use_decimal_comma(ax, w, x=False)
    caption = w(
        "Bars: the median of the rounds; whiskers: the lowest and highest round; dots: each round. A difference "
        "is clear only when every round of one variant beat every round of the other by more than the spread.",
        "Barras: la mediana de las rondas; bigotes: la ronda más baja y la más alta; puntos: cada ronda. Una "
        "diferencia es clara solo si todas las rondas de una variante superan a todas las de la otra por más "
        "que la dispersión.",
    )
    return Chart("headline", w("Headline figures", "Cifras principales"), caption, png(fig))


# -- who served the traffic -------------------------------------------------------------------------


def stacked_panels(run: RunAnalysis, panels: list[tuple[str, list[str], list, list[str]]], w: Words,
                   palette: dict[str, str]) -> tuple[plt.Figure, list[dict]]:  # fmt: skip
    """The served-by charts' figure: one panel of stacked areas per (title, labels, series, colours) — the
    successful requests per second each part served — and a last panel with the failed requests (an error
    answer; no answer at all), on the run's seconds with its event markers."""
    nodes = run.nodes or drills.NodeSeries(seconds=0)
    failed = (w("failed requests", "peticiones fallidas"),
              [w("error answer", "respuesta de error"), w("no answer", "sin respuesta")],
              [nodes.errors, nodes.failed], [NODE_COLOURS[drills.ERROR], NODE_COLOURS[drills.FAILED]])  # fmt: skip
    panels = [*panels, failed]
    xs = [t + 0.5 for t in range(nodes.seconds)]
    fig, axes = plt.subplots(len(panels), 1, figsize=(10, 1.2 + 2.3 * len(panels)), dpi=150, sharex=True,
                             squeeze=False)  # fmt: skip
    markers: list[dict] = []
    for row, (title, labels, values, colours) in enumerate(panels):
        ax = axes[row][0]
        if xs and values:
            ax.stackplot(xs, values, labels=labels, colors=colours, alpha=0.9, linewidth=0)
        style(ax, title=title, xlabel="", ylabel=w("requests/s", "peticiones/s"), title_size=12)
        ax.set_ylim(0, max(1.0, ax.get_ylim()[1]))
        ax.set_xlim(0, max(1, nodes.seconds))
        markers += draw_markers(ax, [run], palette, labels=row == 0)
        if labels:
            ax.legend(fontsize=9, frameon=False, loc="center left", bbox_to_anchor=(1.0, 0.5))
        use_decimal_comma(ax, w)
    axes[-1][0].set_xlabel(w("seconds since the start of the run", "segundos desde el inicio"), fontsize=12)
    return fig, markers


def served_by(run: RunAnalysis, w: Words, palette: dict[str, str]) -> Chart:
    """Stacked areas, one panel per tier: the successful requests each node served every second (from
    X-Served-By), and a last panel with the failed requests (error answers; no answer at all)."""
    nodes = run.nodes or drills.NodeSeries(seconds=0)
    tiers = nodes.tiers()
    order = ("monolith", "web", "api")
    panels = [(tier, tiers[tier]) for tier in order if tier in tiers]
    panels += [(tier, names) for tier, names in tiers.items() if tier not in order]
    titles = {"monolith": w("the box (monolith)", "la caja (monolito)"), "web": w("web tier", "capa web"),
              "api": w("API tier", "capa API"), "lb": w("HAProxy itself", "el propio HAProxy")}  # fmt: skip
    panels = [(titles.get(tier, tier), list(names), [nodes.nodes[n] for n in names], [node_colour(n) for n in names])
              for tier, names in panels]  # fmt: skip
    fig, markers = stacked_panels(run, panels, w, palette)
    title = w(f"Who served the traffic — {w.label(run.label)}, round {run.round}",
              f"Quién atendió el tráfico — {w.label(run.label)}, ronda {run.round}")  # fmt: skip
    fig.suptitle(title, fontsize=16, x=0.01, ha="left")
    if run.variant == "monolith":
        caption = w(
            "Successful requests per second (from the X-Served-By header): the monolith answers everything "
            "itself. The last panel: failed requests, answered with an error (light) or not answered (dark red).",
            "Peticiones exitosas por segundo (según la cabecera X-Served-By): el monolito atiende todo él mismo. "
            "El último panel: peticiones fallidas, con respuesta de error (claro) o sin respuesta (rojo oscuro).",
        )
    else:
        caption = w(
            "Successful requests per second each node took part in (from the X-Served-By header), one panel per "
            "tier: a page counts once in the web tier and once in the API tier. A node that dies leaves its band "
            "and the others widen; the api-standby band (vermilion) appears only while every primary API replica "
            "is down. The last panel: failed requests, answered with an error (light) or not at all (dark red).",
            "Peticiones exitosas por segundo en las que participó cada nodo (según X-Served-By), un panel por "
            "capa: una página cuenta una vez en la capa web y otra en la capa API. Un nodo que cae deja su banda "
            "y los demás se ensanchan; la banda de api-standby (bermellón) aparece solo mientras todas las "
            "réplicas primarias de la API están caídas. El último panel: peticiones fallidas, con respuesta de "
            "error (claro) o sin respuesta (rojo oscuro).",
        )
    return Chart(f"served_by_{run.label.replace('@', '_')}", title, caption, png(fig), markers)


def served_by_machine(run: RunAnalysis, w: Words, palette: dict[str, str]) -> Chart | None:
    """The same traffic grouped by the machine its tasks ran on (Swarm: ``api-2@node-3``), one panel per tier,
    and the failed requests: a node that dies leaves its band, and the others widen as its tasks move there.
    None when no node names its machine (the other engines)."""
    nodes = run.nodes or drills.NodeSeries(seconds=0)
    machines = nodes.machines()
    if not machines:
        return None
    order = ("web", "api")
    panels = [(tier, machines[tier]) for tier in order if tier in machines]
    panels += [(tier, m) for tier, m in machines.items() if tier not in order]
    every = sorted({m for _tier, found in panels for m in found}, key=stats.node_sort_key)
    # node-N always gets the N-th colour, whichever nodes served in this run.
    colour_of = {m: MACHINE_COLOURS[(int(n) - 1 if (n := m.rsplit("-", 1)[-1]).isdigit() else i) % len(MACHINE_COLOURS)]
                 for i, m in enumerate(every)}  # fmt: skip
    titles = {"web": w("web tier, by machine", "capa web, por máquina"),
              "api": w("API tier, by machine", "capa API, por máquina")}  # fmt: skip
    panels = [(titles.get(tier, tier), list(found), list(found.values()), [colour_of[m] for m in found])
              for tier, found in panels]  # fmt: skip
    fig, markers = stacked_panels(run, panels, w, palette)
    title = w(f"Which machine served the traffic — {w.label(run.label)}, round {run.round}",
              f"Qué máquina atendió el tráfico — {w.label(run.label)}, ronda {run.round}")  # fmt: skip
    fig.suptitle(title, fontsize=16, x=0.01, ha="left")
    caption = w(
        "The same successful requests, grouped by the Swarm node their task ran on (X-Served-By names it: "
        "api-2@node-3). A node that dies or is cut off leaves its band; the other nodes' bands widen as Swarm "
        "starts its tasks there. The last panel: failed requests, answered with an error (light) or not at all.",
        "Las mismas peticiones exitosas, agrupadas por el nodo del Swarm en que corría su tarea (X-Served-By lo "
        "nombra: api-2@node-3). Un nodo que cae o queda aislado deja su banda; las de los otros nodos se ensanchan "
        "cuando Swarm arranca allí sus tareas. El último panel: peticiones fallidas, con respuesta de error (claro) "
        "o sin respuesta.",
    )
    return Chart(f"served_by_machine_{run.label.replace('@', '_')}", title, caption, png(fig), markers)


# -- order events ------------------------------------------------------------------------------------

QUEUE_COLOURS = {"mailer": "#E69F00", "sales": "#009E73", "dead-letters": "#D55E00"}
EVENT_SLUGS = ("events_backlog", "queue_depth", "consume_rate")


def _seconds_axis(ax, runs: Sequence[RunAnalysis], w: Words) -> None:
    """Runs' time on x; the part after the load stopped (the harness waits for the backlog) shaded grey."""
    end = max((r.m.duration_s for r in runs), default=0)
    longest = max((r.order_events.series.seconds for r in runs if r.order_events), default=0)
    if longest > end:
        ax.axvspan(end, longest, color="#999999", alpha=0.12, lw=0)
        ax.text(end, 0.98, w(" after the load", " tras la carga"), transform=ax.get_xaxis_transform(), va="top",
                ha="left", fontsize=9, color=MARKER_COLOUR)  # fmt: skip
    ax.set_xlim(0, max(1, longest, end))


def _plot(ax, values: Sequence[float | None], **style) -> None:
    ax.plot([t + 0.5 for t in range(len(values))], [math.nan if v is None else v for v in values], **style)


def events_charts(comparison: Comparison, w: Words) -> list[Chart]:
    """The order events over time: the backlog (both variants), the queues and what the consumers did."""
    runs = [run for run in all_runs(comparison) if run.order_events is not None]
    if not runs:
        return []
    xlabel = w("seconds since the start of the run", "segundos desde el inicio")
    palette = side_colours(comparison)
    charts = []

    fig, ax = plt.subplots(figsize=(10, 4.6), dpi=150)
    for v in comparison.variants:
        for i, run in enumerate(r for r in v.runs if r.order_events is not None):
            es = run.order_events.series
            _plot(ax, es.backlog_mail, color=palette[v.variant], linewidth=2, alpha=0.9,
                  linestyle=ROUND_STYLES[i % len(ROUND_STYLES)],
                  label=w(f"{w.label(v.variant)}: not mailed yet", f"{w.label(v.variant)}: sin correo aún") if i == 0
                  else None)  # fmt: skip
            _plot(ax, es.backlog_sales, color=palette[v.variant], linewidth=1.2, alpha=0.6, linestyle=(0, (1, 2)),
                  label=w(f"{w.label(v.variant)}: not counted yet", f"{w.label(v.variant)}: sin contar aún") if i == 0
                  else None)  # fmt: skip
    markers = draw_markers(ax, runs, palette)
    title = w("Orders waiting for their mail (the backlog)", "Pedidos esperando su correo (el atraso)")
    style(ax, title=title, xlabel=xlabel, ylabel=w("orders", "pedidos"))
    _seconds_axis(ax, runs, w)
    use_decimal_comma(ax, w)
    ax.legend(fontsize=10, frameon=False, loc="upper left")
    caption = w(
        "Orders committed but not mailed yet (solid), and not counted in the sales figures yet (dotted), every "
        "second, from the database. The monolith mails inside the checkout, so its line stays at zero; the "
        "distributed variant's is what the outbox, the queue and the mailers have not finished. Shaded: after "
        "the load stopped, while the harness waited for the backlog to drain.",
        "Pedidos confirmados sin correo todavía (continua) y sin contar en las cifras de ventas (punteada), cada "
        "segundo, según la base de datos. El monolito envía el correo dentro del checkout: su línea queda en "
        "cero; la de la variante distribuida es lo que el outbox, la cola y los mailers aún no terminaron. "
        "Sombreado: tras la carga, mientras el arnés esperaba a que el atraso se vaciara.",
    )
    charts.append(Chart("events_backlog", title, caption, png(fig), markers))

    brokered = [run for run in runs if run.order_events.series.has_broker]
    if brokered:
        for slug, pick, title, ylabel, caption in (
            ("queue_depth", lambda es: es.queues, w("Queue depth (RabbitMQ)", "Profundidad de las colas (RabbitMQ)"),
             w("messages", "mensajes"),
             w("Messages in each queue, waiting or being processed, every second (RabbitMQ's management API). The "
               "mailer queue grows while the mailers cannot work (mail server down or slow, mailers stopped) and "
               "drains when they can; dead-letters holds the messages no consumer could process. A gap: the "
               "broker itself was down (the events waited in the outbox meanwhile).",
               "Mensajes en cada cola, esperando o en proceso, cada segundo (API de gestión de RabbitMQ). La cola "
               "mailer crece mientras los mailers no pueden trabajar (servidor de correo caído o lento, mailers "
               "detenidos) y se vacía cuando pueden; dead-letters guarda los mensajes que ningún consumidor pudo "
               "procesar. Un hueco: el propio broker estaba caído (los eventos esperaban en el outbox).")),
            ("consume_rate", lambda es: es.consumed, w("Consume rate (RabbitMQ)", "Ritmo de consumo (RabbitMQ)"),
             w("messages acknowledged/s", "mensajes confirmados/s"),
             w("Messages each queue's consumers acknowledged per second (RabbitMQ's management API): the mailers "
               "(mailer) and the sales consumer (sales). After an outage the rate jumps while the backlog drains.",
               "Mensajes que los consumidores de cada cola confirmaron por segundo (API de gestión de RabbitMQ): "
               "los mailers (mailer) y el consumidor de ventas (sales). Tras una caída el ritmo sube mientras el "
               "atraso se vacía.")),
        ):  # fmt: skip
            fig, ax = plt.subplots(figsize=(10, 4.6), dpi=150)
            for i, run in enumerate(brokered):
                for queue, values in pick(run.order_events.series).items():
                    if slug == "consume_rate" and queue == "dead-letters":
                        continue
                    _plot(ax, values, color=QUEUE_COLOURS.get(queue, EXTRA_COLOURS[0]), linewidth=1.8, alpha=0.9,
                          linestyle=ROUND_STYLES[i % len(ROUND_STYLES)],
                          label=f"{queue} ({w('round', 'ronda')} {run.round})" if len(brokered) > 1 else queue)
            markers = draw_markers(ax, brokered, palette)
            style(ax, title=title, xlabel=xlabel, ylabel=ylabel)
            _seconds_axis(ax, brokered, w)
            use_decimal_comma(ax, w)
            ax.legend(fontsize=10, frameon=False, loc="upper left")
            charts.append(Chart(slug, title, caption, png(fig), markers))
    return charts


# -- capacity ----------------------------------------------------------------------------------------


def capacity(comparison: Comparison, w: Words) -> list[Chart]:
    """Throughput against users, and p95 against throughput (the knee), every round of every variant."""
    charts = []
    palette = side_colours(comparison)
    for slug, title, xlabel, ylabel, xy in (
        ("capacity_throughput", w("Throughput as users rise", "Rendimiento según suben los usuarios"),
         w("simulated users", "usuarios simulados"), w("successful requests/s", "peticiones exitosas/s"),
         lambda st: (st.users, st.summary.ok_rps)),
        ("capacity_latency", w("Latency against throughput", "Latencia frente a rendimiento"),
         w("successful requests/s", "peticiones exitosas/s"), "p95 (ms)",
         lambda st: (st.summary.ok_rps, st.summary.p95)),
    ):  # fmt: skip
        fig, ax = plt.subplots(figsize=(10, 4.6), dpi=150)
        for v in comparison.variants:
            for i, run in enumerate(v.runs):
                points = [xy(step) for step in run.steps]
                ax.plot([p[0] for p in points], [math.nan if p[1] is None else p[1] for p in points], marker="o",
                        color=palette[v.variant], linestyle=ROUND_STYLES[i % len(ROUND_STYLES)], linewidth=1.8,
                        label=w.label(v.variant) if i == 0 else None)  # fmt: skip
                best = run.capacity
                if best is not None:
                    bx, by = xy(best)
                    ax.scatter([bx], [by], s=160, facecolors="none", edgecolors=palette[v.variant], linewidths=2,
                               zorder=4)  # fmt: skip
        if slug == "capacity_latency":
            ax.axhline(CAPACITY_P95_MS, color="#C62828", linestyle=":", linewidth=1.5)
            ax.text(0.01, CAPACITY_P95_MS, w(f" objective: p95 ≤ {CAPACITY_P95_MS:g} ms", f" objetivo: p95 ≤ "
                    f"{w.num(CAPACITY_P95_MS, 0)} ms"), color="#C62828", va="bottom",
                    transform=ax.get_yaxis_transform())  # fmt: skip
        style(ax, title=title, xlabel=xlabel, ylabel=ylabel)
        ax.set_xlim(left=0)
        use_decimal_comma(ax, w)
        ax.legend(fontsize=12, frameon=False, loc="best",
                  title=w("one line per round; circled: capacity", "una línea por ronda; en círculo: capacidad"),
                  title_fontsize=10)  # fmt: skip
        caption = (
            w("Each point is one step of users (its settled part). ", "Cada punto es un escalón de usuarios "
              "(su parte estable). ")
            + (w("Where the curve stops rising the variant is saturated.", "Donde la curva deja de subir, la "
                 "variante está saturada.") if slug == "capacity_throughput" else
               w("The knee: past it, each extra request/s costs much more waiting.", "El codo: pasado ese punto, "
                 "cada petición/s adicional cuesta mucha más espera."))
        )  # fmt: skip
        charts.append(Chart(slug, title, caption, png(fig)))
    return charts


def all_charts(comparison: Comparison, w: Words) -> list[Chart]:
    charts = [headline(comparison, w)]
    charts += [over_time(comparison, slug, w) for slug in SERIES]
    charts.append(cpu_over_time(comparison, w))
    if comparison.setup.scenario.stepped:
        charts += capacity(comparison, w)
    charts += [served_by(v.runs[0], w, side_colours(comparison)) for v in comparison.variants if v.runs]
    by_machine = [served_by_machine(v.runs[0], w, side_colours(comparison)) for v in comparison.variants if v.runs]
    charts += [chart for chart in by_machine if chart is not None]
    charts += events_charts(comparison, w)
    return charts


# -- the scaling report's curves -------------------------------------------------------------------


def against_budget(
    slug: str,
    title: str,
    ylabel: str,
    series: dict[str, list[tuple[float, float | None]]],
    w: Words,
    *,
    ticks: Sequence[tuple[float, str]],
    ideal: Callable[[str], list[tuple[float, float]]] | None = None,
    caption: str = "",
) -> Chart:
    """One curve per variant against the CPU budget (the scaling report), with an optional "linear" line."""
    fig, ax = plt.subplots(figsize=(10, 4.6), dpi=150)
    for i, (variant, points) in enumerate(series.items()):
        c = colour(variant, i)
        ax.plot([p[0] for p in points], [math.nan if p[1] is None else p[1] for p in points], color=c, marker="o",
                linewidth=2.2, label=w.label(variant))  # fmt: skip
        if ideal is not None and (line := ideal(variant)):
            ax.plot([p[0] for p in line], [p[1] for p in line], color=c, linestyle=":", linewidth=1.4,
                    label=w(f"{variant}: linear from n=1", f"{w.label(variant)}: lineal desde n=1"))  # fmt: skip
    style(ax, title=title, xlabel=w("CPU budget of the whole variant (cores)", "presupuesto de CPU de toda la "
          "variante (núcleos)"), ylabel=ylabel)  # fmt: skip
    ax.set_xticks([t[0] for t in ticks], [t[1] for t in ticks])
    ax.set_xlim(left=0)
    use_decimal_comma(ax, w, x=False)
    ax.legend(fontsize=11, frameon=False, loc="best")
    return Chart(slug, title, caption, png(fig))
