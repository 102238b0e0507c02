"""`make bench`: the bridge's figures side by side with their comparators, in one run."""
