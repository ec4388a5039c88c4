"""Deterministic generator of the demo store's catalog, customers and a year of their behaviour.

``catalog`` holds the vocabulary, ``personas`` the behaviour of customer types, ``generate`` the
Django-free simulation (plain rows in memory) and ``write`` the bulk writes into the database.
"""
