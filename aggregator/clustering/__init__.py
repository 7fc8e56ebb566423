"""Parts of the online story clusterer (``aggregator.cluster`` is the entry point).

text      text -> terms, names (pure functions)
vectors   TF-IDF with document frequencies learnt from the stream
stories   live stories, the inverted index that finds candidates, expiry
"""
