"""Runnable examples: the five seed networks rebuilt with netlib, and their full runs."""
