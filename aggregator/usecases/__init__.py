"""The use cases, by noun: each takes only the collaborators it uses (`wiring.py` builds them)."""
