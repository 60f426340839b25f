"""The Kafka worker: the transactional batch loop, the screening transform it runs, and the copier."""
