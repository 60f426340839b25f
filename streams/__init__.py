"""Everything that moves events: file/stdin runner, Kafka runner, Faust runner, local broker, CLI."""
