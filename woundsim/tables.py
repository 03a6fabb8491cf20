"""Reading woundsim's Parquet tables.

Every Parquet table is read through `read_parquet`, which hands pyarrow the file's path. Given a path,
`pandas.read_parquet` opens the file itself and hands pyarrow a Python file object; after such a read,
pyarrow's thread pool can abort the interpreter at exit ("terminate called without an active
exception", exit status 134, in a few percent of runs here with pyarrow 26; apache/arrow#50482
describes the same teardown fault as a hang), which turned finished commands and tests into failures.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from woundsim.errors import InputError


def read_parquet(path: str | Path, columns: list[str] | None = None) -> pd.DataFrame:
    """The Parquet table at `path` as a DataFrame (the same frame `pandas.read_parquet` returns).

    Raises:
        InputError: the file is missing, unreadable or not a readable Parquet table (one line naming it).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.read_table(str(path), columns=columns).to_pandas()
    except FileNotFoundError:
        raise InputError(f"{path} not found") from None
    except (pa.ArrowException, OSError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{path} is not a readable Parquet table ({reason}); restore it or rerun the step that "
                         "wrote it") from None
