"""The load generator: synthetic payment events (names drawn from the watchlists and from name tables)
produced at a steady rate to a topic or a file."""
