"""`python -m bench.cdc`: the CDC service's capture and delivery rates and commit -> subscriber lag."""
