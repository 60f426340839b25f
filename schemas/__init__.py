"""Contracts of txscreen: the payment event v1, the blocked record and the dead letter.

JSON Schema files live beside this package (``*.schema.json``); the typed codecs in
:mod:`schemas.events` and :mod:`schemas.records` implement exactly those schemas.
This layer imports nothing from ``matchers`` or ``streams``.
"""
