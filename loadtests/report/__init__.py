"""The reports: numbers from :mod:`loadtests.analysis` laid out as one self-contained page, charts and data.

:func:`loadtests.report.render.write` writes the comparison report, :func:`loadtests.report.scaling.write`
the scaling report, with the same words (:mod:`.words`, :mod:`.sentences`), charts (:mod:`.charts`) and
Jinja2 templates (``templates/``).
"""
