"""sqlfluff's stand-in for dbt's ``graph`` context variable (``make lint``, jinja templater).

The jinja templater renders the models without a dbt manifest; the models and tests that read
``graph`` (the events source's path, the GDPR test's walk over the nodes) lint against an empty
graph: no nodes, and any source with an empty ``meta``.
"""

from collections import defaultdict

nodes: dict = {}
sources: defaultdict = defaultdict(lambda: {"meta": defaultdict(str)})
exposures: dict = {}
