"""dPrune's Prefect flows: ``prune`` and ``evaluate``, with their shared settings."""

import os

# OpenMP threads that wait passively: with the default spinning waits, two torch threads trained two to six
# times slower per row on a shared 2-core machine (README "Cheaper routes to fine-tuning quality"). OpenMP
# reads this when torch loads, which no flow module does at import; a value already set wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
