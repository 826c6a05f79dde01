"""The reports: numbers from :mod:`loadtests.analysis` laid out as one self-contained page, charts and data.

``write(out_dir, comparison, lang=...)`` writes the comparison report (:mod:`.render`);
:mod:`.scaling` writes the scaling report with the same words, charts and templates.
"""

from loadtests.report.render import write

__all__ = ["write"]
