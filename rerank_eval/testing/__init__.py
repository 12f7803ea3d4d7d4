"""Test doubles shipped with the package: fake rerank provider servers (:mod:`.fakes`),
used by the test suite, the SDK parity checks and the benchmarks.

Needs the ``fakes`` extra (starlette, uvicorn), imported only when a server is built.
"""
