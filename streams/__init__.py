"""Everything that moves events, one sub-package per room.

Top level: the settings, the output step every engine shares, the status line, the file runner, the
demo, txscreen's own headers and the watchlist loading. Rooms: ``kafka`` (clients, topics, reader,
publisher), ``worker`` (the transactional Kafka worker), ``faust`` (the Faust engine), ``dlq`` (dead
letter replay), ``cli`` (the ``txscreen`` command), ``localbroker`` (a development broker) and
``loadgen`` (the load generator).
"""
