"""``fds bench``: the pipeline and the scoring measured, with figures to compare runs by."""
