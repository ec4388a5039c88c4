"""Django-free segmentation core: RFM, data cleaning, de-duplication, clustering, propensity and
the JSON rule language of rule-based segments.

Nothing in this package imports Django; the Celery tasks and the admin call into it with plain
pandas/NumPy data. See ``docs/segments.md`` for the rule language.
"""
