"""Parts of the online story clusterer (``aggregator.cluster`` is the entry point).

text      text -> terms, names (pure functions)
vectors   TF-IDF: document frequencies from an English prior, then learnt from the stream
background  the English prior (a table derived from wordfreq, CC BY-SA 4.0)
stories   live stories, the inverted index that finds candidates, expiry
"""
