"""The edge that talks to the web: HTTP fetching, feed parsing, article extraction."""
