"""Reusable Pulumi components of FDS: one ComponentResource per module, each with typed args.

They take plain values from the stack program and never read stack configuration themselves.
"""
