"""Battery health: cycler and BMS readers, cycle summaries, state of health, lifetime models, grading."""
