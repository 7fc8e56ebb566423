"""News aggregator: polls feeds, extracts articles, groups coverage into stories."""

__version__ = "0.1.0"
PROJECT_URL = "https://github.com/newsroom-aggregator/aggregator"
USER_AGENT = f"newsroom-aggregator/{__version__} (+{PROJECT_URL})"
