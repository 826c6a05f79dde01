"""The report in plain words: every sentence chosen from what the measurements show, in English or Spanish.

Each function looks at the outcome first — which variant was faster, whether the difference
is clear (:mod:`loadtests.analysis.rounds`), whether either failed requests, whether a variant
used up its CPU budget, whether availability differed — and only then picks a sentence. No
sentence names a cause the data does not show: Server-Timing is quoted only when the
distributed variant was clearly slower and the time it reports explains a real share of it.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from loadtests import drills
from loadtests.analysis import events as event_analysis
from loadtests.analysis import stats
from loadtests.analysis.rounds import Comparison, Difference, VariantRounds, spread_of, trust_problems
from loadtests.analysis.run import DISTURBED_PERCENT, LOAD_GENERATOR_LIMIT, SATURATED_SHARE, STEAL_PERCENT
from loadtests.analysis.scaling import BETTER_THAN_LINEAR, ScalingResult, speedups, step_verdicts
from loadtests.report.words import Words
from loadtests.scenarios import CAPACITY_FAILURES_PERCENT, CAPACITY_P95_MS, THINK_TIME_S

AVAILABILITY_HEADLINE = 99.5  # below this (median of the rounds) availability leads the summary
IMBALANCED_SHARE = 0.7  # one worker doing more than this share of its service's CPU is worth saying
TIMING_SHARE = 0.2  # Server-Timing is quoted when it explains at least this share of a latency difference


def places(items: Sequence[tuple[str, int]], w: Words) -> str:
    """"round 2 of the distributed variant and round 1 of the monolith"."""
    parts = [w(f"round {r} of {w.variant(v)}", f"la ronda {r} de {w.variant(v)}") for v, r in items[:3]]
    if len(items) > 3:
        parts.append(w(f"{len(items) - 3} more", f"{len(items) - 3} más"))
    return w(" and ", " y ").join([", ".join(parts[:-1]), parts[-1]] if len(parts) > 1 else parts)


# -- the verdict -------------------------------------------------------------------------------------


def verdict(c: Comparison, w: Words) -> str:
    """Whether this run can be trusted, in one sentence (the banner, and summary.json's "verdict")."""
    problems = c.problems()
    if not problems:
        reruns = [(v.variant, a.round) for v in c.variants for a in v.discarded]
        text = w(
            "Trustworthy: other programs stayed under "
            f"{w.num(DISTURBED_PERCENT, 0)} % of a core during every run and the load generator never ran short "
            "of CPU.",
            f"Confiable: otros programas usaron menos del {w.num(DISTURBED_PERCENT, 0)} % de un núcleo en cada "
            "ejecución y al generador de carga nunca le faltó CPU.",
        )
        if reruns:
            text += w(
                f" Disturbed runs were measured again: {places(reruns, w)}.",
                f" Las ejecuciones perturbadas se midieron de nuevo: {places(reruns, w)}.",
            )
        return text
    parts = []
    for kind in ("others", "steal", "generator"):
        found = [(v, r, value) for v, r, k, value in problems if k == kind]
        if not found:
            continue
        worst = w.num(max(value for *_, value in found), 0)
        where = places([(v, r) for v, r, _ in found], w)
        parts.append(
            {
                "others": w(f"other programs used up to {worst} % of a core during {where}",
                            f"otros programas usaron hasta el {worst} % de un núcleo durante {where}"),
                "steal": w(f"the hypervisor took up to {worst} % of a core (steal time) during {where}",
                           f"el hipervisor tomó hasta el {worst} % de un núcleo (tiempo robado) durante {where}"),
                "generator": w(f"the load generator reached {worst} % of a core during {where} (limit "
                               f"{w.num(LOAD_GENERATOR_LIMIT, 0)} %): it measured its own slowness",
                               f"el generador de carga llegó al {worst} % de un núcleo durante {where} (límite "
                               f"{w.num(LOAD_GENERATOR_LIMIT, 0)} %): midió su propia lentitud"),
            }[kind]
        )  # fmt: skip
    again = c.setup.max_reruns and any(k in ("others", "steal") for *_, k, _ in problems)
    return (
        w("Not trustworthy: ", "No confiable: ")
        + "; ".join(parts)
        + (w(f", even after measuring again {c.setup.max_reruns} times", f", incluso tras medir de nuevo "
             f"{c.setup.max_reruns} veces") if again else "")
        + w(". The figures may show the neighbours, not the architectures: repeat on a quiet machine.",
            ". Las cifras pueden mostrar a los vecinos, no a las arquitecturas: repite en una máquina tranquila.")
    )  # fmt: skip


# -- what the numbers say -----------------------------------------------------------------------------


def median_of(v: VariantRounds, read) -> float | None:
    s = v.figure(read)
    return None if s is None else s.median


def measured_what(c: Comparison, w: Words) -> str:
    s = c.setup
    first = c.variants[0].runs[0] if c.variants and c.variants[0].runs else None
    window = ""
    if first is not None:
        win = first.window
        window = {
            "users": w(f"from {w.clock(win.start_s)} (when {s.scenario.steady_users} users ran, plus "
                       f"{w.num(s.scenario.settle_s, 0)} s to settle) to {w.clock(win.end_s)}",
                       f"desde {w.clock(win.start_s)} (cuando corrían {s.scenario.steady_users} usuarios, más "
                       f"{w.num(s.scenario.settle_s, 0)} s para estabilizarse) hasta {w.clock(win.end_s)}"),
            "planned": w(f"from {w.clock(win.start_s)} (the planned end of the ramp-up; Locust's user history was "
                         f"missing) to {w.clock(win.end_s)}",
                         f"desde {w.clock(win.start_s)} (el fin previsto de la rampa; faltaba el historial de "
                         f"usuarios de Locust) hasta {w.clock(win.end_s)}"),
            "whole": w("the whole run (too short to leave a ramp-up out)",
                       "toda la ejecución (demasiado corta para excluir la rampa)"),
        }[win.how]  # fmt: skip
    return w(
        f"Each variant ran {s.rounds} round{'s' if s.rounds != 1 else ''} of the {s.scenario.name} scenario, "
        "alternating, each from the same data. Every figure is the median of the rounds, with the lowest and "
        f"highest round in brackets, measured in the steady state: {window}.",
        f"Cada variante hizo {s.rounds} ronda{'s' if s.rounds != 1 else ''} del escenario {s.scenario.name}, "
        "alternadas, cada una desde los mismos datos. Cada cifra es la mediana de las rondas, con la ronda más "
        f"baja y la más alta entre paréntesis, medida en estado estable: {window}.",
    )


def availability_sentences(c: Comparison, d: dict[str, Difference], w: Words) -> tuple[list[str], bool]:
    """(sentences, whether availability leads the summary)."""
    spreads = {v.variant: v.spread("availability") for v in c.variants}
    failing = [v for v in c.variants if v.failures]
    if not failing:
        return [w("No request failed on any variant (an out-of-stock answer is an expected outcome, not a failure).",
                  "Ninguna petición falló en ninguna variante (una respuesta de «sin existencias» es un resultado "
                  "esperado, no una falla).")], False  # fmt: skip
    lead = any(s is not None and s.median < AVAILABILITY_HEADLINE for s in spreads.values())
    lines = []
    figures = w(" and ", " y ").join(
        w(f"{w.variant(v.variant)} {w.spread(spreads[v.variant], '%', 2)}",
          f"{w.variant(v.variant)} {w.spread(spreads[v.variant], '%', 2)}")
        for v in c.variants
    )  # fmt: skip
    diff = d.get("availability")
    if lead:
        if diff is not None and diff.clear:
            lines.append(w(
                f"Availability differed clearly: {w.variant(diff.better)} answered more requests successfully. "
                f"Share of requests that succeeded: {figures}.",
                f"La disponibilidad fue claramente distinta: {w.variant(diff.better)} respondió bien a más "
                f"peticiones. Porcentaje de peticiones exitosas: {figures}.",
            ))
        else:
            lines.append(w(f"Requests failed. Share of requests that succeeded: {figures}.",
                           f"Hubo peticiones fallidas. Porcentaje de peticiones exitosas: {figures}."))
    for v in failing:
        reason = v.runs[0].failures[0] if v.runs and v.runs[0].failures else None
        text = w(f"{w.variant(v.variant, capital=True)} had {w.int(v.failures)} failed requests out of "
                 f"{w.int(v.requests)} in all its rounds",
                 f"{w.variant(v.variant, capital=True)} tuvo {w.int(v.failures)} peticiones fallidas de "
                 f"{w.int(v.requests)} en todas sus rondas")  # fmt: skip
        if reason:
            text += w(f"; the most frequent (round 1): {reason[0]} — {reason[1]} ({reason[2]}×)",
                      f"; la más frecuente (ronda 1): {reason[0]} — {reason[1]} ({reason[2]}×)")
        lines.append(text + ".")
    unanswered = sum(v.unanswered for v in c.variants)
    if unanswered:
        lines.append(w(
            f"{w.int(unanswered)} requests got no answer at all (refused, reset or timed out): they count as "
            "failures and are left out of every latency figure.",
            f"{w.int(unanswered)} peticiones no recibieron respuesta (rechazadas, cortadas o agotado el tiempo): "
            "cuentan como fallas y quedan fuera de toda cifra de latencia.",
        ))
    return lines, lead


def latency_sentence(c: Comparison, d: dict[str, Difference], w: Words) -> str | None:
    d95, d50 = d.get("p95"), d.get("p50")
    if d95 is None:
        return None
    by = {v.variant: v for v in c.variants}
    if d95.why == "one_round":
        figures = w(" and ", " y ").join(f"{w.label(v.variant)} {w.ms(v.spread('p95').median)}"
                                         for v in c.variants if v.spread("p95"))  # fmt: skip
        return w(f"p95 latency: {figures}. With one round per variant no difference can be called clear.",
                 f"Latencia p95: {figures}. Con una ronda por variante ninguna diferencia puede llamarse clara.")
    if not d95.clear:
        width = max(d95.base_spread.width, d95.other_spread.width)
        return w(
            f"No clear difference in latency at this load: p95 {w.spread(d95.base_spread, 'ms')} for "
            f"{w.variant(d95.base)} and {w.spread(d95.other_spread, 'ms')} for {w.variant(d95.other)}, while rounds "
            f"of the same variant varied by up to {w.ms(width)}.",
            f"Sin diferencia clara de latencia con esta carga: p95 {w.spread(d95.base_spread, 'ms')} para "
            f"{w.variant(d95.base)} y {w.spread(d95.other_spread, 'ms')} para {w.variant(d95.other)}, mientras las "
            f"rondas de una misma variante variaron hasta {w.ms(width)}.",
        )
    fast, slow = d95.better, d95.worse
    text = w(
        f"{w.variant(fast, capital=True)} was faster: p95 {w.spread(by[fast].spread('p95'), 'ms')} against "
        f"{w.spread(by[slow].spread('p95'), 'ms')} for {w.variant(slow)}",
        f"{w.variant(fast, capital=True)} fue más rápido: p95 {w.spread(by[fast].spread('p95'), 'ms')} frente a "
        f"{w.spread(by[slow].spread('p95'), 'ms')} de {w.variant(slow)}",
    )
    if d50 is not None and d50.clear and d50.better == fast:
        text += w(f", p50 {w.spread(by[fast].spread('p50'), 'ms')} against {w.spread(by[slow].spread('p50'), 'ms')}",
                  f", p50 {w.spread(by[fast].spread('p50'), 'ms')} frente a {w.spread(by[slow].spread('p50'), 'ms')}")
    elif d50 is not None and d50.clear:
        text += w(f"; at the median, though, {w.variant(slow)} was faster (p50 "
                  f"{w.spread(by[slow].spread('p50'), 'ms')} against {w.spread(by[fast].spread('p50'), 'ms')})",
                  f"; en la mediana, en cambio, {w.variant(slow)} fue más rápido (p50 "
                  f"{w.spread(by[slow].spread('p50'), 'ms')} frente a {w.spread(by[fast].spread('p50'), 'ms')})")
    return text + w(" — in every round, by more than the rounds varied.",
                    " — en todas las rondas, por más de lo que variaron las rondas.")  # fmt: skip


def budget_share(v: VariantRounds) -> float | None:
    shares = [a.budget_share for a in v.runs if a.budget_share is not None]
    return statistics.median(shares) if shares else None


def throughput_sentences(c: Comparison, d: dict[str, Difference], w: Words) -> list[str]:
    diff = d.get("throughput")
    if diff is None:
        return []
    by = {v.variant: v for v in c.variants}
    figures = {name: w.spread(v.spread("throughput"), w("req/s", "pet/s")) for name, v in by.items()}
    shares = {name: budget_share(v) for name, v in by.items()}
    budgets = {name: c.setup.caps[name].variant for name in by}
    saturated = [name for name, share in shares.items() if share is not None and share >= SATURATED_SHARE]
    capped = all(share is not None for share in shares.values())
    healthy = all(
        (s := v.spread("availability")) is not None and s.median >= AVAILABILITY_HEADLINE for v in c.variants
    )
    # Demand-limited: with a mean answer under a tenth of the mean pause, users' own pauses set the pace.
    think_ms = 1000 * sum(THINK_TIME_S) / 2
    quick = all((m := median_of(v, lambda a: a.steady.mean_ms)) is not None and m <= think_ms / 10 for v in c.variants)

    def share_text(name: str) -> str:
        return w(f"{w.variant(name)} used {w.pct(100 * shares[name], 0)} of its {w.cores(budgets[name])}-core budget",
                 f"{w.variant(name)} usó el {w.pct(100 * shares[name], 0)} de su presupuesto de "
                 f"{w.cores(budgets[name])} núcleos")

    lines = []
    if diff.clear:
        more, less = diff.better, diff.worse
        lines.append(w(
            f"{w.variant(more, capital=True)} served more: {figures[more]} successful requests against "
            f"{figures[less]} for {w.variant(less)}.",
            f"{w.variant(more, capital=True)} atendió más: {figures[more]} peticiones exitosas frente a "
            f"{figures[less]} de {w.variant(less)}.",
        ))
    else:
        joined = ", ".join(f"{w.label(name)} {figures[name]}" for name in by)
        lines.append(w(f"Throughput (successful requests): no clear difference — {joined}.",
                       f"Rendimiento (peticiones exitosas): sin diferencia clara — {joined}."))
    if not capped:
        lines.append(w("The variants ran without CPU caps, so whether either was saturated cannot be read from a "
                       "budget.",
                       "Las variantes corrieron sin límite de CPU, así que no se puede saber por el presupuesto si "
                       "alguna estaba saturada."))  # fmt: skip
    elif saturated:
        for name in by:
            state = w("saturated", "saturada") if name in saturated else w("not saturated", "no saturada")
            lines.append(w(f"{w.variant(name, capital=True)} was {state}: {share_text(name)}.",
                           f"{w.variant(name, capital=True)}: {state}; {share_text(name)}."))
    elif not diff.clear and healthy and quick:
        shares_text = w("; ", "; ").join(share_text(name) for name in by)
        lines.append(w(
            f"Neither variant was saturated ({shares_text}): throughput was set by the users, not by the shops — "
            "at this load both served what the users asked for, so the difference shows in latency, if anywhere.",
            f"Ninguna variante estaba saturada ({shares_text}): el rendimiento lo fijaron los usuarios, no las "
            "tiendas — con esta carga ambas atendieron lo que pidieron los usuarios, así que la diferencia, si la "
            "hay, está en la latencia.",
        ))
    else:
        shares_text = "; ".join(share_text(name) for name in by)
        lines.append(w(f"Neither variant used all of its CPU budget ({shares_text}).",
                       f"Ninguna variante usó todo su presupuesto de CPU ({shares_text})."))
        if not quick:
            lines.append(w(
                f"Answers took long enough (a mean over {w.ms(think_ms / 10)}, a tenth of the users' mean pause) to "
                "slow the users down: in this closed loop a slower shop is asked for less.",
                f"Las respuestas tardaron lo bastante (una media de más de {w.ms(think_ms / 10)}, una décima de la "
                "pausa media de los usuarios) como para frenar a los usuarios: en este ciclo cerrado a una tienda "
                "más lenta se le pide menos.",
            ))
    return lines


def timing_sentence(c: Comparison, d: dict[str, Difference], w: Words) -> str | None:
    """Server-Timing, quoted only when the distributed variant was clearly slower and it explains a share."""
    by = {v.variant: v for v in c.variants}
    if set(by) != {"monolith", "distributed"}:
        return None
    slower = [diff for diff in (d.get("p50"), d.get("p95")) if diff is not None and diff.clear]
    if not slower or slower[0].worse != "distributed":
        return None
    api = median_of(by["distributed"], lambda a: a.timing.get("api"))
    mean_d = median_of(by["distributed"], lambda a: a.steady.mean_ms)
    mean_m = median_of(by["monolith"], lambda a: a.steady.mean_ms)
    if api is None or mean_d is None or mean_m is None or mean_d <= mean_m:
        return None
    gap = mean_d - mean_m
    share = api / gap
    if share < TIMING_SHARE:
        return None
    return w(
        f"Server-Timing shows where much of that time goes: a distributed page waited {w.ms(api)} on average for "
        f"its calls to the API tier (the network hop through HAProxy and the API's own work), against a mean "
        f"latency {w.ms(gap)} above the monolith's.",
        f"Server-Timing muestra adónde va buena parte de ese tiempo: una página distribuida esperó {w.ms(api)} de "
        f"media sus llamadas a la capa API (el salto de red por HAProxy y el trabajo de la propia API), frente a "
        f"una latencia media {w.ms(gap)} mayor que la del monolito.",
    )


def cpu_sentence(c: Comparison, d: dict[str, Difference], w: Words) -> str | None:
    diff = d.get("cpu_per_request")
    if diff is None:
        return None
    by = {v.variant: v for v in c.variants}
    figure = {name: w.spread(v.spread("cpu_per_request"), "ms") for name, v in by.items()}
    if diff.clear:
        return w(
            f"{w.variant(diff.worse, capital=True)} spent more CPU per successful request: {figure[diff.worse]} "
            f"against {figure[diff.better]} (all of a variant's processes together).",
            f"{w.variant(diff.worse, capital=True)} gastó más CPU por petición exitosa: {figure[diff.worse]} frente "
            f"a {figure[diff.better]} (todos los procesos de una variante juntos).",
        )
    joined = ", ".join(f"{w.label(name)} {figure[name]}" for name in by)
    return w(f"CPU per successful request: no clear difference — {joined}.",
             f"CPU por petición exitosa: sin diferencia clara — {joined}.")


def capacity_sentences(c: Comparison, w: Words) -> list[str]:
    if not c.setup.scenario.stepped:
        return []
    objective = w(f"p95 ≤ {w.num(CAPACITY_P95_MS, 0)} ms and at most {w.num(CAPACITY_FAILURES_PERCENT, 0)} % "
                  "failures", f"p95 ≤ {w.num(CAPACITY_P95_MS, 0)} ms y como mucho un "
                  f"{w.num(CAPACITY_FAILURES_PERCENT, 0)} % de fallas")  # fmt: skip
    lines = []
    for v in c.variants:
        rps = v.spread("capacity_rps")
        open_ended = [a.round for a in v.runs if not a.capacity_reached]
        text = w(
            f"Capacity of {w.variant(v.variant)} ({objective}): {w.spread(v.spread('capacity_users'), 'users', 0)}, "
            f"serving {w.spread(rps, 'req/s')}",
            f"Capacidad de {w.variant(v.variant)} ({objective}): {w.spread(v.spread('capacity_users'), 'usuarios', 0)}"
            f", atendiendo {w.spread(rps, 'pet/s')}",
        )
        if open_ended:
            text += w(f"; in round(s) {', '.join(map(str, open_ended))} no step missed the objective, so the "
                      "capacity is at least that", f"; en la(s) ronda(s) {', '.join(map(str, open_ended))} ningún "
                      "escalón incumplió el objetivo, así que la capacidad es al menos esa")  # fmt: skip
        lines.append(text + ".")
    diff = c.differences().get("capacity_users")
    if diff is not None and diff.clear:
        lines.append(w(f"{w.variant(diff.better, capital=True)} clearly held more users within the objective.",
                       f"{w.variant(diff.better, capital=True)} sostuvo claramente más usuarios dentro del objetivo."))
    elif diff is not None and diff.why == "one_round":
        lines.append(w("With one round per variant no difference in capacity can be called clear.",
                       "Con una ronda por variante ninguna diferencia de capacidad puede llamarse clara."))
    elif diff is not None:
        lines.append(w("No clear difference in capacity between the variants at this CPU budget.",
                       "Sin diferencia clara de capacidad entre las variantes con este presupuesto de CPU."))
    lines.append(w("The figures of the whole run mix steps of different users: the capacity table and the stage "
                   "table show each step.", "Las cifras de toda la ejecución mezclan escalones con distintos "
                   "usuarios: las tablas de capacidad y de etapas muestran cada escalón."))  # fmt: skip
    return lines


def drill_sentences(c: Comparison, w: Words) -> list[str]:
    if not c.setup.fault_spec:
        return []
    lines = [w(
        f"Fault drill {c.setup.fault_spec}: the same events at the same second of every run (a node of the "
        "monolith is the whole box); dashed lines mark them on the charts.",
        f"Simulacro de fallas {c.setup.fault_spec}: los mismos eventos en el mismo segundo de cada ejecución (un "
        "nodo del monolito es la caja entera); las líneas discontinuas los marcan en los gráficos.",
    )]
    for v in c.variants:
        whole = v.spread("availability")
        parts = []
        labels = list(dict.fromkeys(i.event.label for a in v.runs for i in a.impacts))
        for label in labels:
            impacts = [i for a in v.runs for i in a.impacts if i.event.label == label]
            after = spread_of([i.after.availability for i in impacts])
            recoveries = ", ".join(recovery_text(i, w) for i in impacts)
            parts.append(w(f"{label}: {w.spread(after, '%', 1)} of the requests of the next "
                           f"{w.num(drills.AROUND_S, 0)} s succeeded; time to recover by round: {recoveries}",
                           f"{label}: el {w.spread(after, '%', 1)} de las peticiones de los "
                           f"{w.num(drills.AROUND_S, 0)} s siguientes tuvo éxito; tiempo de recuperación por ronda: "
                           f"{recoveries}"))  # fmt: skip
        skipped = sorted({f"{e.label} ({e.skipped})" for a in v.runs for e in a.events if e.skipped})
        if skipped:
            parts.append(w("skipped: ", "omitido: ") + "; ".join(skipped))
        lines.append(
            w(f"{w.variant(v.variant, capital=True)}: availability {w.spread(whole, '%', 2)} over the runs; ",
              f"{w.variant(v.variant, capital=True)}: disponibilidad {w.spread(whole, '%', 2)} en las ejecuciones; ")
            + ("; ".join(parts) or w("no event happened", "no ocurrió ningún evento"))
            + "."
        )  # fmt: skip
    targets: dict[tuple[str, str], list] = {}
    for v in c.variants:
        for a in v.runs:
            for t in a.targets:
                targets.setdefault((t.name, t.variant), []).append(t)
    for (name, variant), found in targets.items():
        met = [t.met for t in found]
        if all(m is None for m in met):
            verdict = w("for comparison", "para comparar")
        else:
            verdict = w(f"met in {sum(1 for m in met if m)} of {len(met)} runs",
                        f"cumplido en {sum(1 for m in met if m)} de {len(met)} ejecuciones")
        lines.append(w(f"Target — {name} — {variant}: {verdict}. Round 1: {found[0].measured}.",
                       f"Objetivo — {name} — {variant}: {verdict}. Ronda 1: {found[0].measured}."))
    return lines


def checkout_records(v: VariantRounds) -> list:
    """The steady-state checkouts (POST /checkout, POST /api/orders) of every round of a variant."""
    return [r for a in v.runs for r in stats.in_window(a.m.records, start=a.m.start_time,
            window=(a.window.start_s, a.window.end_s)) if event_analysis.is_checkout(r)]  # fmt: skip


def events_sentences(c: Comparison, w: Words) -> list[str]:
    """The order events: the checkout's latency with and without the mail in it, the backlog, the dead letters."""
    variants = [v for v in c.variants if any(a.order_events is not None for a in v.runs)]
    if not variants:
        return []
    lines = []
    latency = []
    for v in variants:
        checkouts = checkout_records(v)
        p95 = stats.percentile([r.response_time_ms for r in checkouts if r.success], 95)
        mail = stats.server_timing_means(checkouts).get("mail")
        if p95 is None:
            continue
        text = f"{w.label(v.variant)} {w.ms(p95)}"
        if mail is not None:
            text += w(f" (of which the SMTP round trip: {w.ms(mail)} on average, Server-Timing mail)",
                      f" (de los que el viaje SMTP: {w.ms(mail)} de media, Server-Timing mail)")
        latency.append(text)
    if latency:
        lines.append(w(f"Checkout p95, steady state, every round together: {'; '.join(latency)}. The monolith's "
                       "checkout waits for the mail server; the distributed one only writes its event to the outbox.",
                       f"p95 del checkout, estado estable, todas las rondas juntas: {'; '.join(latency)}. El checkout "
                       "del monolito espera al servidor de correo; el distribuido solo escribe su evento en el "
                       "outbox."))  # fmt: skip
    for v in variants:
        runs = [a for a in v.runs if a.order_events is not None]
        outage = [t for a in runs for t in a.targets if t.name == event_analysis.MAIL_OUTAGE]
        if not any(a.order_events.series.has_broker for a in runs):
            text = w(f"{w.variant(v.variant, capital=True)} mailed and counted every order inside its checkout: it "
                     "never had a backlog.",
                     f"{w.variant(v.variant, capital=True)} envió el correo y contó cada pedido dentro de su "
                     "checkout: nunca tuvo atraso.")  # fmt: skip
            if outage:
                text += w(" The price: while its mail server was down its checkouts failed with a 503 "
                          "mail_unavailable (the target above), since it sells nothing it cannot confirm.",
                          " El precio: mientras su servidor de correo estaba caído sus checkouts fallaron con un 503 "
                          "mail_unavailable (el objetivo de arriba), porque no vende nada que no pueda confirmar.")
            lines.append(text)
            continue
        peak = spread_of([a.order_events.backlog.peak for a in runs])
        b = runs[0].order_events.backlog
        if b.peak <= b.normal + event_analysis.DRAIN_MARGIN:
            text = w(f"{w.variant(v.variant, capital=True)}'s mailers kept up: the mail backlog never passed "
                     f"{w.spread(peak, '', 0)} orders.",
                     f"Los mailers de {w.variant(v.variant)} siguieron el ritmo: el atraso de correos nunca pasó de "
                     f"{w.spread(peak, '', 0)} pedidos.")  # fmt: skip
        else:
            when = w.clock(b.peak_at_s) if b.peak_at_s is not None else "–"
            drained = (w(f", and drained {w.num(b.drain_s, 0)} s after {b.event}",
                         f", y se vació {w.num(b.drain_s, 0)} s después de {b.event}") if b.drain_s is not None
                       else w(", and had not drained before the samples ended",
                              ", y no se había vaciado al terminar las muestras"))  # fmt: skip
            text = w(f"{w.variant(v.variant, capital=True)}'s mail backlog grew to {w.spread(peak, '', 0)} orders "
                     f"(round 1: at {when}){drained}; the checkout went on taking orders meanwhile.",
                     f"El atraso de correos de {w.variant(v.variant)} llegó a {w.spread(peak, '', 0)} pedidos "
                     f"(ronda 1: en {when}){drained}; mientras tanto el checkout siguió aceptando pedidos.")
        drains = spread_of([a.m.drain.seconds for a in runs if a.m.drain is not None and a.m.drain.drained])
        if drains is not None:
            text += w(f" After the load stopped the backlog took {w.spread(drains, 's', 1)} to drain.",
                      f" Tras la carga, el atraso tardó {w.spread(drains, 's', 1)} en vaciarse.")
        dead = sum(a.order_events.backlog.dead_letters for a in runs)
        none = w(" No message was dead-lettered.", " Ningún mensaje acabó en la cola de mensajes muertos.")
        text += (none if not dead
                 else w(f" {w.int(dead)} messages were dead-lettered (bounded retries spent; `twinshop status` shows "
                        "them).", f" {w.int(dead)} mensajes acabaron en la cola de mensajes muertos (agotados sus "
                        "reintentos; `twinshop status` los muestra)."))  # fmt: skip
        lines.append(text)
    checked = [a.m.invariants for v in variants for a in v.runs if a.m.invariants is not None]
    mailed = [check for inv in checked for check in inv.checks if check.name == "every order mailed exactly once"]
    if mailed and all(check.ok for check in mailed):
        lines.append(w(f"Every order was mailed exactly once and counted once in the sales figures, in all "
                       f"{len(mailed)} runs (checked after each backlog drained).",
                       f"Cada pedido recibió exactamente un correo y se contó una vez en las cifras de ventas, en las "
                       f"{len(mailed)} ejecuciones (comprobado tras vaciarse cada atraso)."))  # fmt: skip
    return lines


def recovery_text(impact: drills.Impact, w: Words) -> str:
    if not impact.impact:
        return w("no visible impact", "sin impacto visible")
    if impact.recovery_s is None:
        return w(f"not recovered before {impact.next_label or 'the end'}",
                 f"sin recuperarse antes de {impact.next_label or 'el final'}")
    return f"{w.num(impact.recovery_s, 0)} s"


def invariant_sentences(c: Comparison, w: Words) -> list[str]:
    checked = [(v, a) for v in c.variants for a in v.runs if a.m.invariants is not None]
    if not checked:
        return []
    broken = [(v, a) for v, a in checked if not a.m.invariants.ok]
    if not broken:
        return [w(
            f"Invariants held after every one of the {len(checked)} runs: every order a client saw accepted is in "
            "the database once, no stock below zero, no Idempotency-Key with two orders, no half order, stock adds up.",
            f"Los invariantes se cumplieron tras cada una de las {len(checked)} ejecuciones: cada pedido que un "
            "cliente vio aceptado está en la base de datos una vez, ningún stock bajo cero, ninguna "
            "Idempotency-Key con dos pedidos, ningún pedido a medias, el stock cuadra.",
        )]
    return [w(f"INVARIANT VIOLATED on {w.variant(v.variant)}, round {a.round}: ",
              f"INVARIANTE VIOLADO en {w.variant(v.variant)}, ronda {a.round}: ")
            + "; ".join(a.m.invariants.violations()) + "." for v, a in broken]  # fmt: skip


def summary(c: Comparison, w: Words) -> list[str]:
    """"What the numbers say", in order: availability first when requests failed, then latency, throughput
    and saturation, where the time went (only when shown), CPU, capacity, the drill, the invariants."""
    d = c.differences()
    lines = [measured_what(c, w)]
    if c.setup.scenario.stepped:
        # a capacity search: figures over the whole run would mix steps of different users
        availability, _lead = availability_sentences(c, d, w)
        return (lines + capacity_sentences(c, w) + availability + drill_sentences(c, w) + events_sentences(c, w)
                + invariant_sentences(c, w))  # fmt: skip
    availability, lead = availability_sentences(c, d, w)
    latency = [line for line in (latency_sentence(c, d, w), timing_sentence(c, d, w)) if line]
    throughput = throughput_sentences(c, d, w)
    if lead:
        lines += availability + latency + throughput
    else:
        lines += latency + throughput + availability
    if (cpu := cpu_sentence(c, d, w)) is not None:
        lines.append(cpu)
    lines += capacity_sentences(c, w)
    lines += drill_sentences(c, w)
    lines += events_sentences(c, w)
    lines += invariant_sentences(c, w)
    return lines


# -- caveats ------------------------------------------------------------------------------------------


def caveats(c: Comparison, w: Words) -> list[str]:
    s = c.setup
    notes = []
    if not s.capped:
        notes.append(w(
            f"The run was uncapped: no CPU limit on either variant, so each could use all "
            f"{s.machine.get('logical_cores')} cores, shared with the load generator.",
            f"La ejecución no tuvo límites: ninguna variante tenía límite de CPU, así que cada una podía usar los "
            f"{s.machine.get('logical_cores')} núcleos, compartidos con el generador de carga.",
        ))
    elif not s.equal_caps:
        caps = "; ".join(f"{v}: {caps.describe()}" for v, caps in s.caps.items())
        notes.append(w(f"The CPU budgets differ between the variants ({caps}): this is not a comparison at equal CPU.",
                       f"Los presupuestos de CPU difieren entre las variantes ({caps}): no es una comparación a "
                       "igual CPU."))  # fmt: skip
    if s.access_logs and set(s.access_logs) != {v.variant for v in c.variants}:
        notes.append(w(
            f"Logging differs: {', '.join(s.access_logs)} wrote a log line for every request (--access-log) and "
            "the other did not; logging costs CPU. Restart both the same way before comparing.",
            f"El registro difiere: {', '.join(s.access_logs)} escribió una línea por petición (--access-log) y la "
            "otra no; registrar cuesta CPU. Reinicia ambas igual antes de comparar.",
        ))
    for v in c.variants:
        for a in v.runs:
            for service, parts in a.worker_shares.items():
                top = max(parts.values())
                if top > IMBALANCED_SHARE:
                    notes.append(w(
                        f"In round {a.round} one of the {len(parts)} processes of {service} did "
                        f"{w.pct(100 * top, 0)} of its work: with keep-alive a gunicorn worker keeps the connections "
                        "it accepted, so the other idled. The spread across rounds shows what this costs.",
                        f"En la ronda {a.round} uno de los {len(parts)} procesos de {service} hizo el "
                        f"{w.pct(100 * top, 0)} de su trabajo: con keep-alive un worker de gunicorn conserva las "
                        "conexiones que aceptó, así que el otro quedó ocioso. La dispersión entre rondas muestra lo "
                        "que eso cuesta.",
                    ))
    if s.rounds < 2:
        notes.append(w("One round per variant: no difference can be called clear. Use --rounds 3 or more.",
                       "Una ronda por variante: ninguna diferencia puede llamarse clara. Usa --rounds 3 o más."))
    if s.fault_spec:
        notes.append(w(
            "This was a fault drill: the steady-state figures include the faults. Read the fault drill section for "
            "availability and recovery around each event.",
            "Esto fue un simulacro de fallas: las cifras de estado estable incluyen las fallas. Lee la sección del "
            "simulacro para la disponibilidad y la recuperación alrededor de cada evento.",
        ))
    notes.append(w(
        f"Interference is measured, not guessed: a run during which other programs used more than "
        f"{w.num(DISTURBED_PERCENT, 0)} % of a core (or steal time passed {w.num(STEAL_PERCENT, 0)} %) is measured "
        "again; the table under “Interference” shows every run.",
        f"La interferencia se mide, no se supone: una ejecución en la que otros programas usaron más del "
        f"{w.num(DISTURBED_PERCENT, 0)} % de un núcleo (o el tiempo robado pasó del {w.num(STEAL_PERCENT, 0)} %) "
        "se mide de nuevo; la tabla «Interferencia» muestra cada ejecución.",
    ))
    notes.append(w(
        f"Users wait {w.num(THINK_TIME_S[0], 1)}–{w.num(THINK_TIME_S[1], 0)} s between actions (a closed loop): "
        "when a variant slows down, its users send fewer requests, so read throughput together with latency.",
        f"Los usuarios esperan {w.num(THINK_TIME_S[0], 1)}–{w.num(THINK_TIME_S[1], 0)} s entre acciones (un ciclo "
        "cerrado): cuando una variante se vuelve lenta, sus usuarios envían menos peticiones, así que lee el "
        "rendimiento junto con la latencia.",
    ))
    return notes


# -- the scaling report ----------------------------------------------------------------------------------


def scaling_summary(result: ScalingResult, w: Words) -> list[str]:
    """The scaling run in words: the budgets, each variant's speed-up, and each step's comparison on its own."""
    lines = [w(
        "Each step gives both variants the same CPU budget for ALL their processes (database included; for the "
        "distributed variant also HAProxy and one idle web replica): "
        + ", ".join(f"n={s.step.n}: {w.cores(s.step.cpus)} CPU" for s in result.steps)
        + f". {result.rounds} rounds per variant and step, interleaved; figures are medians (lowest–highest round).",
        "Cada escalón da a ambas variantes el mismo presupuesto de CPU para TODOS sus procesos (base de datos "
        "incluida; en la variante distribuida también HAProxy y una réplica web ociosa): "
        + ", ".join(f"n={s.step.n}: {w.cores(s.step.cpus)} CPU" for s in result.steps)
        + f". {result.rounds} rondas por variante y escalón, alternadas; las cifras son medianas (ronda más baja–"
        "más alta).",
    )]
    capped = [s.step for s in result.steps if s.step.capped]
    if capped:
        lines.append(w(
            f"This machine has {result.machine.get('logical_cores')} cores and keeps half a core for the load "
            f"generator, so no variant can get more than {w.cores(result.limit)} CPU: "
            + ", ".join(f"n={s.n} asked for {w.cores(s.wanted_cpus)} CPU and got {w.cores(s.cpus)}" for s in capped)
            + ". Above that the curves show the machine's limit, not the architecture's.",
            f"Esta máquina tiene {result.machine.get('logical_cores')} núcleos y reserva medio núcleo para el "
            f"generador de carga, así que ninguna variante puede recibir más de {w.cores(result.limit)} CPU: "
            + ", ".join(f"n={s.n} pidió {w.cores(s.wanted_cpus)} CPU y recibió {w.cores(s.cpus)}" for s in capped)
            + ". Por encima de eso las curvas muestran el límite de la máquina, no el de la arquitectura.",
        ))
    for variant in result.variant_names:
        series = result.series(variant)
        if not series:
            continue
        first, last = series[0], series[-1]
        found = speedups(result, variant)
        if not found:
            continue
        _step, speedup, budget = found[-1]
        units = w("workers", "workers") if variant == "monolith" else w("API replicas", "réplicas de la API")
        text = w(
            f"{w.variant(variant, capital=True)} went from {w.spread(first[1].spread('throughput'), 'req/s')} "
            f"({first[0].step.n} {units}, {w.cores(first[0].step.cpus)} CPU) to "
            f"{w.spread(last[1].spread('throughput'), 'req/s')} ({last[0].step.n} {units}, "
            f"{w.cores(last[0].step.cpus)} CPU): {w.num(speedup, 2)}× the throughput for {w.num(budget, 2)}× the CPU.",
            f"{w.variant(variant, capital=True)} pasó de {w.spread(first[1].spread('throughput'), 'pet/s')} "
            f"({first[0].step.n} {units}, {w.cores(first[0].step.cpus)} CPU) a "
            f"{w.spread(last[1].spread('throughput'), 'pet/s')} ({last[0].step.n} {units}, "
            f"{w.cores(last[0].step.cpus)} CPU): {w.num(speedup, 2)}× el rendimiento por {w.num(budget, 2)}× la CPU.",
        )
        above = [(s, sp, b) for s, sp, b in found if sp > b * BETTER_THAN_LINEAR]
        if above:
            text += w(
                " That is better than linear — more than the extra CPU can explain ("
                + ", ".join(f"n={s.n}: {w.num(sp, 2)}× for {w.num(b, 2)}×" for s, sp, b in above)
                + "): a sign of noise, or of a first step that did not use its budget. Repeat before drawing "
                "conclusions.",
                " Eso es mejor que lineal — más de lo que la CPU adicional puede explicar ("
                + ", ".join(f"n={s.n}: {w.num(sp, 2)}× por {w.num(b, 2)}×" for s, sp, b in above)
                + "): señal de ruido, o de un primer escalón que no usó su presupuesto. Repite antes de sacar "
                "conclusiones.",
            )
        lines.append(text)
    names = result.variant_names
    for step, ratio, clear in step_verdicts(result):
        if ratio is None:
            continue
        if clear:
            lines.append(w(
                f"At n={step.n} ({w.cores(step.cpus)} CPU) {w.variant(names[1])} served {w.num(ratio, 2)}× "
                f"{w.variant(names[0])}'s throughput: a clear difference (every round).",
                f"Con n={step.n} ({w.cores(step.cpus)} CPU) {w.variant(names[1])} atendió {w.num(ratio, 2)}× el "
                f"rendimiento de {w.variant(names[0])}: una diferencia clara (en todas las rondas).",
            ))
        else:
            lines.append(w(
                f"At n={step.n} ({w.cores(step.cpus)} CPU) no clear difference in throughput ({names[1]} "
                f"{w.num(ratio, 2)}× {names[0]}, within the spread of the rounds).",
                f"Con n={step.n} ({w.cores(step.cpus)} CPU) sin diferencia clara de rendimiento ({w.label(names[1])} "
                f"{w.num(ratio, 2)}× {w.label(names[0])}, dentro de la dispersión de las rondas).",
            ))
    problems = [(s.step.n, v, r, kind, value) for s in result.steps
                for v, r, kind, value in trust_problems(s.variants)]  # fmt: skip
    if problems:
        lines.append(w(
            "NOT TRUSTWORTHY: "
            + "; ".join(f"n={n}, {v} round {r}: " + (f"other programs used {w.num(value, 0)} % of a core"
                        if kind == "others" else f"steal time {w.num(value, 0)} %" if kind == "steal"
                        else f"the load generator reached {w.num(value, 0)} % of a core") for n, v, r, kind, value
                        in problems) + ". Repeat on a quiet machine.",
            "NO CONFIABLE: "
            + "; ".join(f"n={n}, {w.label(v)} ronda {r}: " + (f"otros programas usaron el {w.num(value, 0)} % de "
                        "un núcleo" if kind == "others" else f"tiempo robado {w.num(value, 0)} %" if kind == "steal"
                        else f"el generador de carga llegó al {w.num(value, 0)} % de un núcleo") for n, v, r, kind,
                        value in problems) + ". Repite en una máquina tranquila.",
        ))  # fmt: skip
    failures = [(s.step.n, v.variant, v.failures) for s in result.steps for v in s.variants if v.failures]
    if failures:
        lines.append(w("Failed requests: ", "Peticiones fallidas: ")
                     + ", ".join(f"{w.label(v)} n={n}: {w.int(f)}" for n, v, f in failures) + ".")
    return lines
