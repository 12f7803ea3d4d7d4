"""Remote rerankers: one :class:`~.reranker.RemoteReranker` composed from a provider's
profile (:mod:`.profile`) and dialect (:mod:`.dialect`); each provider in
:mod:`.providers` registers its kinds. Nothing here imports httpx at import time."""
