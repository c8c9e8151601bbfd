"""The garbage collector of a serving process.

What start-up builds lives as long as the process: the catalog, the generated schema, the
compiled policy, the mask tables (about 170,000 objects in the demo). CPython's collector walks
them again at every older-generation collection, and a request allocates enough to trigger one
every few requests: on a keyed read that was about a third of the gateway's CPU (bench/README.md,
item 2). So once started, a serving process freezes what it holds (the collector no longer walks
it; reference counting still frees it) and collects young objects less often. Only `gateway serve`
does this: an app embedded in another process (the tests) leaves that process's collector alone.
"""

from __future__ import annotations

import gc

THRESHOLDS = (20_000, 50, 100)  # CPython's defaults are (700, 10, 10)


def settle_after_start() -> None:
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
