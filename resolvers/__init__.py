"""Fetch only what may leave: batched, column-limited reads from the libraries, masked on the way out."""
