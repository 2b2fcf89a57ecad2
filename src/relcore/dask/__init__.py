"""relcore beyond one machine, on Dask (the ``dask`` extra).

Every per-customer computation in relcore needs one customer's events and nothing else.
So a frame of events is shuffled by customer id (Dask's own shuffle), each partition then
holds whole customers, and the single-machine functions run partition by partition:
results equal the single-machine results. The code runs on whatever scheduler Dask uses:
a ``distributed.Client`` on a ``LocalCluster``, or on a cluster of many machines.
"""

from ._summary import summarize

__all__ = ["summarize"]
