"""What managers see: filters, live figures, rollups, the dashboard, A/B statistics, transcripts, search, exports.

One job a module; dependencies point down this list, never up (``tests/unit/test_layers.py`` holds them to it):

- ``exports``: CSV exports (the filtered list, the A/B table, whole tables) and the NLU training data
- ``dashboard``: what the dashboard page shows, from the rollup when it can answer, else live
- ``rollups``: the pre-computed figures, their refresh and their reading
- ``ab``: A/B statistics per campaign and variant (counts, Wilson intervals, z-tests)
- ``figures``: the figures' shape, and the same figures computed live from the events
- ``transcripts``: the transcript list, tags and flags
- ``masks``: what managers and exports see of a debtor's words
- ``filters``: the one filter model and its SQL predicates (every figure and list counts with them)
- ``search``: full-text search over message bodies
"""
