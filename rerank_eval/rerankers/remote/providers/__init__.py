"""One module per provider: its profile(s), its dialect and its registration."""
