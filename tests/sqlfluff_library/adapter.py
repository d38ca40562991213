"""sqlfluff's stand-in for dbt's ``adapter`` context variable (``make lint``, jinja templater).

The portability macros (macros/portability.sql) call ``adapter.dispatch(name, 'amazing')``, which
needs dbt's macro resolution. Offline, a dispatched macro renders as a plain function call of the
same name with its arguments (``row_hash_key(a, b)``): valid SQL in every place the models use
them (expressions), so the models around them lint as they are written. The DuckDB
implementations themselves live in macros/, which sqlfluff does not lint.
"""

from collections.abc import Callable, Iterable


def _argument(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, Iterable):
        return ", ".join(_argument(item) for item in value)
    return str(value)


def dispatch(macro_name: str, macro_namespace: str | None = None) -> Callable[..., str]:
    def render(*args: object, **kwargs: object) -> str:
        arguments = [_argument(a) for a in args] + [_argument(v) for v in kwargs.values()]
        return f"{macro_name}({', '.join(arguments)})"

    return render
