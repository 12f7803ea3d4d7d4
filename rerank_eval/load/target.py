"""The reranker under load, built so that nothing hides the load it is given.

- no response cache and no merging of identical requests in flight
  (``Runtime(response_cache=False, share_in_flight=False)``): every request is sent;
- remote kinds: no retries (``max_retries=0``) unless ``--retries N``, so a 429 or a 5xx
  is counted, not retried into a slower success; the client's own cap on requests in
  flight (the ``concurrency`` option) is raised to the sweep's largest level (closed
  loop) or to ``--max-in-flight`` (open loop), so the client never queues what the
  endpoint should see;
- remote kinds: refused (:class:`RemoteRefusedError`, before anything is sent) when the
  endpoint's host is not loopback (127.0.0.0/8, ::1, ``localhost``), unless
  ``allow_remote``: a load test against someone else's service is a deliberate act;
- local kinds (``bm25``, ``biencoder``, ``cross-encoder``): in-process capacity; a
  reranker that reuses work across calls (:class:`ReusesWork`, the bi-encoder's
  embeddings) has the reuse turned off, as in the harness's latency pass, so each call
  does all its own work; ``bm25`` indexes the corpus first (not timed).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from rerank_eval.load.workload import Workload
from rerank_eval.rerankers import Reranker, Runtime, create_reranker, known_kinds, parse_spec
from rerank_eval.rerankers.base import CorpusAware, PricedByHardware, PricedByUsage, ReusesWork
from rerank_eval.secrets import redact, safe_url


class RemoteRefusedError(ValueError):
    """The endpoint is not on this machine and ``--allow-remote`` was not given."""


def is_loopback_host(host: str | None) -> bool:
    """``localhost`` (and ``*.localhost``), 127.0.0.0/8, ::1 (IPv4-mapped too)."""
    if not host:
        return False
    host = host.strip("[]").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def check_loopback(url: str, allow_remote: bool) -> None:
    """Refuse ``url`` unless its host is loopback or ``allow_remote``."""
    if allow_remote:
        return
    try:
        host = urlsplit(url).hostname
    except ValueError:
        host = None
    if not is_loopback_host(host):
        raise RemoteRefusedError(
            f"refusing to load-test {safe_url(url)}: its host {host or '?'!s} is not this "
            "machine (loopback: 127.0.0.0/8, ::1, localhost). A load test sends many "
            "requests as fast as the endpoint takes them, which can cost money, trip rate "
            "limits or disturb a shared service; give --allow-remote if that is intended. "
            "Nothing was sent.")


@dataclass
class LoadTarget:
    """A reranker built for a load test, and what the report records about it."""

    reranker: Reranker
    spec: str
    """The spec as given, secrets redacted."""
    remote: bool
    url: str | None = None
    """A remote reranker's endpoint (no user info, no query string)."""
    retries: int = 0
    client_concurrency: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.reranker.name

    def prepare(self, workload: Workload) -> None:
        """Before the sweep (not timed): index the corpus for a corpus-aware reranker, and
        turn off cross-query reuse."""
        if isinstance(self.reranker, CorpusAware) and workload.corpus:
            self.reranker.index_corpus(list(workload.corpus))
        if isinstance(self.reranker, ReusesWork):
            self.reranker.cross_query_reuse = False
            self.notes.append(f"{self.name}: cross-query reuse off (every call does its own "
                              "work, as a service would)")

    def price(self) -> dict[str, Any] | None:
        """The dated price behind usage cost (remote kinds), as recorded."""
        if not isinstance(self.reranker, PricedByUsage) or self.reranker.price is None:
            return None
        p = self.reranker.price
        return {"usd": p.usd, "per": p.per, "unit": p.unit, "date": p.date,
                "source": p.source, "model": p.model}

    @property
    def device(self) -> str | None:
        """Where a local reranker computes (priced by the hardware hour)."""
        if isinstance(self.reranker, PricedByHardware) and not self.remote:
            return str(self.reranker.device)
        return None

    async def aclose(self) -> None:
        await self.reranker.aclose()


def is_remote_kind(spec: str) -> bool:
    """Whether the spec's kind is a remote provider (it takes retry and concurrency
    options); False for an unknown kind (building it then says why)."""
    kind = parse_spec(spec).kind
    for entry in known_kinds():
        if entry.kind == kind:
            return entry.cost_basis == "usage" and {"max_retries", "concurrency"} <= set(
                entry.options)
    return False


def build_target(spec: str, *, client_concurrency: int, retries: int | None = None,
                 allow_remote: bool = False, clock: Any = None,
                 transport: Any = None) -> LoadTarget:
    """Build the reranker for ``spec`` for load; refuse a non-loopback endpoint first.

    Raises what building a reranker raises (unknown kind, bad option, missing key) and
    :class:`RemoteRefusedError`; nothing is sent either way.
    """
    parsed = parse_spec(spec)
    remote = is_remote_kind(spec)
    shown = redact(spec)
    notes: list[str] = []
    options: dict[str, Any] = {}
    effective_retries = 0
    if remote:
        effective_retries = retries or 0
        for key, value in (("max_retries", effective_retries),
                           ("concurrency", client_concurrency)):
            given = parsed.options.get(key)
            if given is not None and str(given) != str(value):
                notes.append(f"{shown}: option {key}={given} replaced by {value} for the "
                             "load test")
            options[key] = value
        paced = [key for key in ("rpm", "tpm") if parsed.options.get(key) is not None]
        if paced:
            notes.append(f"{shown}: {' and '.join(paced)} pacing in the spec caps the load "
                         "this client sends; higher levels measure the pacing, not the "
                         "endpoint")
    elif retries:
        notes.append(f"--retries {retries} ignored: {parsed.kind} is a local reranker "
                     "(nothing to retry)")
    runtime = Runtime(response_cache=False, share_in_flight=False, clock=clock,
                      transport=transport)
    reranker = create_reranker(spec, options, runtime=runtime)
    url = None
    if remote:
        from rerank_eval.rerankers.remote.reranker import RemoteReranker

        if isinstance(reranker, RemoteReranker):
            url = safe_url(reranker.url)
            check_loopback(reranker.url, allow_remote)
        elif not allow_remote:
            raise RemoteRefusedError(f"refusing to load-test {shown}: cannot tell where its "
                                     "endpoint is; give --allow-remote if that is intended. "
                                     "Nothing was sent.")
    return LoadTarget(reranker=reranker, spec=shown, remote=remote, url=url,
                      retries=effective_retries,
                      client_concurrency=client_concurrency if remote else None, notes=notes)
