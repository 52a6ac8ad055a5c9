"""What the operators run by hand: block-list administration and audit exports."""
