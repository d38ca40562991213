"""sqlfluff's stand-in for dbt's ``modules`` context variable (``make lint``): the standard
library modules dbt exposes to Jinja."""

import datetime
import itertools
import re

__all__ = ["datetime", "itertools", "re"]
