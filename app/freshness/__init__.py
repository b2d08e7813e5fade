"""Freshness: the change log written with every change, what it tells readers (the
changes feed, per-key invalidation of cached answers, cache tags), the RFC 9110
validators, and the release of scheduled articles."""
