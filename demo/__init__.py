"""The demo behind ``make run``: a ready-to-sell edge with demo rules and customers."""
