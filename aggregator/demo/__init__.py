"""The demo: a small local news site with bundled sample news written for this project.

Exposes: ``site`` (DemoSite). Imports nothing of the project; only cli uses it.
"""
