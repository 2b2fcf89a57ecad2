"""relcore beyond one machine, on Dask (the ``dask`` extra).

Every per-customer computation in relcore needs one customer's events and nothing else,
and every model's likelihood depends on the data only through its distinct rows and
their counts. So relcore scales on Dask without new statistics and without cluster code
of its own:

* **read** ([`read_events`][relcore.dask.read_events]): parquet or CSV files become
  partitions, each checked as the single-machine reader checks a table (errors name the file
  and row);
* **shuffled**: a frame of events is shuffled by customer id (Dask's own shuffle) so that
  each partition holds whole customers; then [`summarize`][relcore.dask.summarize],
  [`engagement`][relcore.dask.engagement] and [`fatigue`][relcore.dask.fatigue] run the
  single-machine functions partition by partition;
* **reduced**: [`fit`][relcore.dask.fit] compresses each partition of summaries to distinct
  rows with counts and merges them in a tree; [`fatigue`][relcore.dask.fatigue] adds up its
  response-curve counts;
* **on the driver**: only the model's own fit, on those distinct rows (at most one per
  customer, far fewer when histories repeat), and the response-curve estimates;
* **partition by partition**: [`predict`][relcore.dask.predict],
  [`customer_lifetime_value`][relcore.dask.customer_lifetime_value] and
  [`check_many`][relcore.dask.check_many] ship the fitted models (or a ledger snapshot) to the
  workers and return frames keyed as their input; write them with ``.to_parquet(path)``.

Results equal the single-machine results: the same functions run on the same rows. The
code runs on whatever scheduler Dask uses: a ``distributed.Client`` on a
``LocalCluster``, or on a cluster of many machines by giving the client that cluster's
address.
"""

from ._fit import fit
from ._policy import check_many
from ._predict import customer_lifetime_value, predict
from ._read import read_events
from ._scores import engagement, fatigue
from ._summary import summarize

__all__ = [
    "check_many",
    "customer_lifetime_value",
    "engagement",
    "fatigue",
    "fit",
    "predict",
    "read_events",
    "summarize",
]
