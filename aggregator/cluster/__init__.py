"""Stories: online placement of each article into a story across outlets, its term vectors,
the background IDF, and the evidence behind each join (explain).

Exposes: ``clusterer`` (Clusterer, ClusterSettings, Features). Imports only types and
``aggregator.words``; never another stage, never the store.
"""
