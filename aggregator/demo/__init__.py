"""The demo: a small local news site with bundled sample news written for this project.

Exposes: ``site`` (DemoSite, the server), built from ``data`` (the sample news: outlets and
articles) and ``render`` (their pages and feeds). Imports nothing of the project; only cli
uses it.
"""
