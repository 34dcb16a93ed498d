"""What managers see: filters, live figures, rollups, search and exports over conversations."""
