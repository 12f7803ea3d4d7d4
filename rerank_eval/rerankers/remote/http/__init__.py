"""The HTTP layer of the remote rerankers: one client (retries, pacing, concurrency cap,
timeouts), its retry policy, rate limiter, clock and typed errors."""
