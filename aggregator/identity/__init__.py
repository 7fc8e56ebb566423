"""Which article is which: canonical URLs, article keys and content hashes (exact
duplicates), and near-duplicate detection of syndicated copies.

Exposes: ``urls``, ``keys``, ``near``. Imports only the store protocol, types, errors and
``aggregator.words``; never another stage.
"""
