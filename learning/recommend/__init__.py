"""Course recommendations: the platform's ranking, its baselines and the offline protocol.

Pure numpy/scipy (and `implicit` for the ALS baseline): no Django models here. Callers map
their own ids (teachers, courses) to the 0…n-1 indices these modules use.
"""
