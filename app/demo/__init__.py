"""Demo data: the worked example of the documentation, and a few more stories."""
