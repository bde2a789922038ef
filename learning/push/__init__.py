"""The personalised push (精准推送): for every teacher a short ranked list of open courses, each
with a reason in Chinese.

- `inputs`: what the ranking reads, in bulk: course cards, each teacher's needs (hours owed by
  category, required content not yet taken this cycle, what they have studied), and what the
  teachers of a stage and subject study most.
- `collaborative`: the learned signal (the item-item model of `learning.recommend`), fitted on
  every teacher's study history.
- `ranking`: pure functions that blend the signals, keep the list diverse and write the reasons.
- `services`: compute and store the lists (the nightly batch, one teacher on demand);
  `selectors`: read a teacher's list, recomputing it when it is stale.
"""
