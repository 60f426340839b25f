"""A single-node Kafka broker for development and tests, fetched with Maven (its pom and log4j2 file sit
beside the launcher). Production code never imports it; only the CLI, the demo and tests do."""
