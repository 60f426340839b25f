"""Dead letters replayed: choosing which records to send back (selection) and sending them (replay)."""
