"""Neural building blocks shared by every trunk, decoder and head."""
