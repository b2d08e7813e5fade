"""Newsdesk: a headless news-content API."""
