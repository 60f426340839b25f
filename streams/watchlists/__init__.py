"""Live lists: list versions published to a compacted Kafka topic, and workers that follow it."""
