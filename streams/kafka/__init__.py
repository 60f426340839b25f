"""Talking to Kafka: client configuration, topic admin, reading a topic, publishing JSON lines."""
