"""The self-test: a synthetic report sent through the product's own doors and followed."""
