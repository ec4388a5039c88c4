"""The Django side of recommendations: training (``training``), what it reads
(``interactions``) and the read side used when serving (``store``)."""
