"""The bootstrap program: what must exist in an AWS account before the workflows can run."""
