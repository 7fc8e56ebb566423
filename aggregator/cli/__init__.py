"""The ``aggregator`` command: ``main`` wires one module per command group.

Everything may be imported from here; nothing imports cli.
"""
