"""`import axonflow_notebook.pandas` registers `df.governed` on pandas frames (and on Dask frames
once `dask.dataframe` is imported). pandas and Dask are optional extras:
`pip install axonflow-notebook[pandas]` or `[dask]`.

Modules: `template` (the `{column}` prompt template), `frame` (prompts in, answer columns out),
`accessor` (pandas), `on_dask` (Dask: partitions governed on the workers).
"""

from __future__ import annotations

from ..import_hooks import when_imported
from .accessor import GovernedAccessor, register
from .template import RowTemplate, TemplateError


def _register_dask() -> None:
    from .on_dask import register as register_dask

    register_dask()


register()
when_imported("dask.dataframe", _register_dask)

__all__ = ["GovernedAccessor", "RowTemplate", "TemplateError"]
