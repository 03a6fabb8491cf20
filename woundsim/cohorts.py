"""Moved: the cell agents are `woundsim.agents` (the word "cohort" belongs to patients, `woundsim.cohort`)."""

raise ImportError("woundsim.cohorts is now woundsim.agents: Cohort -> CellPopulation, CellCohort -> SuperAgent "
                  "(WoundModel.cohorts -> WoundModel.populations)")
