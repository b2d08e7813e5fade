"""Load scenarios and data generators: they print figures and assert nothing."""
