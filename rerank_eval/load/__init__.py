"""``rerank-eval load``: capacity and latency of one rerank endpoint under load.

A sweep of load levels sends the dataset's real queries and first-stage candidates to
one reranker and measures, per level, throughput, latency percentiles, errors by type,
server timing, tokens and cost; then finds the knee (the highest level whose p95 stays
under a budget) and the saturation throughput. One concept per module:

- :mod:`.parsing`: the command line's durations and level lists;
- :mod:`.workload`: the requests (real queries and candidates, cycled, optionally made
  unique so caches cannot flatter the numbers);
- :mod:`.target`: the reranker under test, built for load (no retries, a client cap
  that does not hide load, loopback only unless allowed);
- :mod:`.outcome`: one request sent and what came of it (errors by type);
- :mod:`.loops`: the two load generators (closed loop, open loop) and the total cap;
- :mod:`.sweep`: the levels in turn, warm-up, the total cap, Ctrl-C;
- :mod:`.stats`: a level's summary; :mod:`.knee`: knee and saturation;
  :mod:`.cost`: cost per 1,000 queries at the knee;
- :mod:`.records`: ``load.json`` (schema version 1), written atomically;
  :mod:`.summary`: a sweep's results assembled into it;
- :mod:`.command`: the typer command; :mod:`.progress` and :mod:`.results_table`: what
  it shows while it runs and prints at the end.

Everything that waits or times goes through an injectable clock
(:class:`rerank_eval.rerankers.remote.http.clock.Clock`), so the engine runs in tests on
a virtual clock against the in-process fake servers and spends no real time.
"""
