"""The Faust engine: the app, its options, the ``faust -A streams.faust.main`` entry, the read-committed
transport and the live counts page."""
