"""Segments in the database: membership with history, the pipeline that fills static segments and
the per-event evaluation of dynamic ones. The maths lives in :mod:`personalization.segmentation`."""
