"""Who is reminded of what, and when: dunning campaigns and their A/B variants."""
