"""`aggregator eval`: stream a labelled corpus through the production pipeline and score the stories."""
