"""Deduplicating news-feed aggregator."""
