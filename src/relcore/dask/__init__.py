"""relcore beyond one machine, on Dask (the ``dask`` extra).

Every per-customer computation in relcore needs one customer's events and nothing else.
Parquet or CSV files are read into partitions, each checked as the single-machine
readers check a table (errors name the file and row). A frame of events is shuffled by
customer id (Dask's own shuffle), each partition then holds whole customers, and the
single-machine functions run partition by partition (summaries, engagement, fatigue;
fatigue's recommended frequencies are estimated from the whole base's response-curve
counts, added up on the driver). Model fits reduce each partition
of summaries to its distinct rows with counts, merge them in a tree and run the model's
own fit on the driver with the counts as weights. Predictions and lifetime values ship
the fitted models to the workers and run partition by partition. Results equal the single-machine
results. The code runs on whatever scheduler Dask uses: a ``distributed.Client`` on a
``LocalCluster``, or on a cluster of many machines.
"""

from ._fit import fit
from ._predict import customer_lifetime_value, predict
from ._read import read_events
from ._scores import engagement, fatigue
from ._summary import summarize

__all__ = [
    "customer_lifetime_value",
    "engagement",
    "fatigue",
    "fit",
    "predict",
    "read_events",
    "summarize",
]
