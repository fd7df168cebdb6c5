"""One module per operation; import the one you need (nothing here imports them)."""
