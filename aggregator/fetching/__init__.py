"""Internals of the fetch stage, one concern per module.

    limits.py       FetchLimits, Retry-After parsing, backoff for failing feeds (pure)
    guard.py        the address guard for untrusted article links (SSRF defence)
    pinning.py      connecting guarded requests only to the addresses the guard vetted
    decode.py       reading a response body under size limits, decoding it ourselves
    politeness.py   per-host and global concurrency, spacing between requests to a host

The public face is :mod:`aggregator.fetch`; import from there.
"""
